"""The HTTP API fuzzed from its own OpenAPI document (schemathesis) against a real `durapipe serve`:
no 500, and every response (status, content type, body) matches the document."""
from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.http_api.conftest import KEY

EXAMPLES_PER_ROUTE = 40
BUDGET_S = 90.0
# What the document promises: no server error, and only documented statuses, content types and bodies.
# (Not "positive data is accepted": a well-formed request for a pipeline the app does not serve is a 400.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_route_answers_as_its_openapi_document_says(app):
    import requests

    document = requests.get(f"{app.api}/openapi.json", headers={"x-functions-key": KEY}, timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    deadline = time.monotonic() + BUDGET_S
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case):
            if time.monotonic() > deadline:
                return
            response = case.call(base_url=app.api, headers={"x-functions-key": KEY}, timeout=30)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            case.validate_response(response, checks=CHECKS)

        fuzz()
        checked += 1
    assert checked == sum(len(methods) for methods in document["paths"].values())
