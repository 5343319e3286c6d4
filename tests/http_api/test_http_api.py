"""The HTTP API of the real function app, over real HTTP to a `durapipe serve` process with Azurite."""
from __future__ import annotations

import json

import pytest

from tests.http_api.conftest import KEY, App, wait_for_run as _wait_for_run
from tests.host.serve.conftest import call



def _store_keys(app: App) -> list[str]:
    return sorted(app.store.list(""))


def test_pipelines_lists_the_served_pipelines_with_version_parameters_and_inputs(app):
    status, body = app.get("/pipelines")
    assert status == 200
    by_name = {p["name"]: p for p in body["pipelines"]}
    assert set(by_name) == {"retrain", "batch_score"}
    retrain = by_name["retrain"]
    assert len(retrain["version"]) == 64
    assert {"name": "C", "type": "float", "default": 1.0, "required": False} in retrain["parameters"]
    assert {"name": "data", "optional": False} in by_name["batch_score"]["inputs"]


def test_a_run_started_over_http_completes_and_its_status_has_outputs(app, trained):
    started, run = trained["started"], trained["run"]
    assert started["status_url"].endswith(f"/api/runs/{started['run_id']}")
    assert run["status"] == "completed", run
    assert run["steps"]["train"]["status"] == "ran"
    assert set(run["outputs"]) >= {"model", "scaler", "metrics", "roc_curve"}
    assert run["registered"] == {"model": "breast_cancer", "version": 1}


def test_a_served_run_of_a_models_pipeline_shows_and_logs_the_registrys_decision(app, trained):
    run_id, registration = trained["started"]["run_id"], trained["run"]["registration"]
    assert (registration["model"], registration["version"]) == ("breast_cancer", 1)
    assert registration["decision"].startswith("registered as version 1, the first champion: roc_auc ")
    logged = (app.home.parent / "serve.err").read_text()
    assert logged.count(f"run {run_id}, model breast_cancer: {registration['decision']}") == 1


def test_the_run_record_carries_the_pipeline_version(app, trained):
    record = json.loads(app.store.get(f"runs/{trained['started']['run_id']}.json"))
    _, listing = app.get("/pipelines")
    version = next(p["version"] for p in listing["pipelines"] if p["name"] == "retrain")
    assert record["pipeline_version"] == version
    assert record["trigger"] == {"kind": "http"}


def test_runs_are_listed_filtered_and_paged(app, trained):
    status, page = app.get("/runs?pipeline=retrain&status=completed&limit=1")
    assert status == 200
    assert [r["run_id"] for r in page["runs"]] == [trained["started"]["run_id"]]
    status, empty = app.get("/runs?pipeline=batch_score&status=canceled")
    assert status == 200 and empty["runs"] == []


@pytest.mark.parametrize("body, needle", [
    (b'{"parameters": {"C": ', "not valid JSON"),
    (b'{"parameters": {"C": "lots"}}', "C"),
    (b'{"parameters": {"gamma": 1}}', "gamma"),
    (b'{"inputs": {"raw": "../etc/passwd"}}', "raw"),
    (b'{"inputs": {"raw": "training/missing.csv"}}', "not in the store"),
    (b'{"inputs": {"raw": "data:missing"}}', "no data asset named 'missing'"),
    (b'{"colour": "blue"}', "colour"),
])
def test_a_bad_run_request_is_a_400_naming_the_problem_and_writes_nothing(app, trained, body, needle):
    before = _store_keys(app)
    status, answer = app.post("/pipelines/retrain/runs", body)
    assert status == 400, answer
    assert needle in answer["error"]
    assert "Traceback" not in answer["error"]
    assert _store_keys(app) == before


def test_an_unknown_pipeline_is_a_400_naming_it_and_starts_nothing(app, trained):
    before = _store_keys(app)
    status, answer = app.post("/pipelines/nope/runs", b"{}")
    assert status == 400 and "nope" in answer["error"]
    assert _store_keys(app) == before


def test_an_oversize_body_is_a_413_and_starts_nothing(app, trained):
    before = _store_keys(app)
    status, answer = app.post("/pipelines/retrain/runs", b'{"parameters": {"x": "' + b"a" * 70_000 + b'"}}')
    assert status == 413 and "limit" in answer["error"]
    assert _store_keys(app) == before


def test_an_unknown_route_is_a_404(app):
    status, _ = app.get("/nothing/here")
    assert status == 404


def test_an_unknown_run_is_a_404(app):
    status, answer = app.get("/runs/no-such-run")
    assert status == 404 and "no-such-run" in answer["error"]


def test_every_route_needs_the_function_key(app):
    _, document = app.get("/openapi.json")
    routes = [(method.upper(), path.replace("{name}", "retrain").replace("{id}", "some-run")
               .replace("{step}", "train").replace("{hash}", "0" * 64))
              for path, methods in document["paths"].items() for method in methods]
    assert len(routes) == 14
    for method, path in routes:
        for headers in ({}, {"x-functions-key": "wrong"}):
            status, _, _ = call(method, app.api + path, body=b"{}" if method == "POST" else None, headers=headers)
            assert status == 401, (method, path, headers)
        status, _, _ = call(method, f"{app.api}{path}{'&' if '?' in path else '?'}code=wrong",
                            body=b"{}" if method == "POST" else None)
        assert status == 401, (method, path, "code")


def test_the_openapi_document_describes_the_routes(app):
    status, document = app.get(f"/openapi.json?code={KEY}", key=None)
    assert status == 200
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/pipelines", "/pipelines/{name}/runs", "/runs", "/runs/{id}",
                                      "/runs/{id}/cancel", "/openapi.json", "/runs/{id}/steps/{step}",
                                      "/runs/{id}/steps/{step}/log", "/runs/{id}/steps/{step}/partitions",
                                      "/runs/{id}/artifacts/{hash}",
                                      "/runs/{id}/graph", "/pipelines/{name}/graph", "/models", "/models/{name}"}


def test_a_finished_run_cannot_be_canceled(app, trained):
    status, answer = app.post(f"/runs/{trained['started']['run_id']}/cancel")
    assert status == 409 and "ended" in answer["error"]


def test_a_running_run_can_be_canceled_and_is_recorded_as_canceled(app, trained):
    status, started = app.post("/pipelines/retrain/runs",
                               json.dumps({"parameters": {"C": 0.123, "model_type": "tree"}}).encode())
    assert status == 202
    status, answer = app.post(f"/runs/{started['run_id']}/cancel")
    assert status == 202 and answer["status"] == "canceled"
    run = _wait_for_run(app, started["status_url"])
    assert run["status"] == "canceled"
    assert json.loads(app.store.get(f"runs/{started['run_id']}.json"))["status"] == "canceled"


def test_a_step_of_a_run_has_its_fingerprint_components(app, trained):
    status, step = app.get(f"/runs/{trained['started']['run_id']}/steps/train")
    assert status == 200, step
    assert step["status"] == "ran" and step["fingerprint"] and step["mapped"] is False
    assert {"code", "params", "inputs"} <= set(step["components"])


def test_an_unknown_step_of_a_run_is_a_404_naming_the_steps(app, trained):
    status, answer = app.get(f"/runs/{trained['started']['run_id']}/steps/nope")
    assert status == 404 and "train" in answer["error"]


def test_a_step_log_is_served_as_text(app, trained):
    status, headers, _ = call("GET", f"{app.api}/runs/{trained['started']['run_id']}/steps/train/log",
                              headers={"x-functions-key": KEY})
    assert status == 200 and headers["Content-Type"].startswith("text/plain")


def test_an_output_downloads_with_the_bytes_its_hash_names(app, trained):
    import hashlib
    import urllib.request

    ref = trained["run"]["outputs"]["model"]
    request = urllib.request.Request(f"{app.api}/runs/{trained['started']['run_id']}/artifacts/{ref['hash']}",
                                     headers={"x-functions-key": KEY})
    with urllib.request.urlopen(request, timeout=30) as response:
        data, disposition = response.read(), response.headers["Content-Disposition"]
    assert hashlib.sha256(data).hexdigest() == ref["hash"] and 'filename="model"' in disposition


def test_an_artifact_the_run_does_not_name_is_a_404(app, trained):
    status, answer = app.get(f"/runs/{trained['started']['run_id']}/artifacts/{'0' * 64}")
    assert status == 404 and "no artifact" in answer["error"]


def test_the_run_graph_is_an_svg_with_a_box_per_step(app, trained):
    status, headers, svg = call("GET", f"{app.api}/runs/{trained['started']['run_id']}/graph?format=svg",
                                headers={"x-functions-key": KEY})
    import html

    assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    for step in trained["run"]["steps"]:
        assert f'id="step-{step}" class="node step state-ran"' in html.unescape(svg)


def test_a_graph_in_an_unknown_format_is_a_400(app, trained):
    status, answer = app.get(f"/runs/{trained['started']['run_id']}/graph?format=gif")
    assert status == 400 and "format" in answer["error"]


def test_the_pipeline_graph_is_mermaid_text_on_request(app):
    status, _, text = call("GET", f"{app.api}/pipelines/retrain/graph?format=mermaid",
                           headers={"x-functions-key": KEY})
    assert status == 200 and text.startswith("flowchart LR") and "train" in text


def _post_with_key(app: App, body: bytes, key: str) -> tuple[int, dict]:
    status, _, answer = call("POST", app.api + "/pipelines/retrain/runs", body=body,
                             headers={"content-type": "application/json", "x-functions-key": KEY,
                                      "Idempotency-Key": key})
    return status, answer


def test_the_same_idempotency_key_starts_one_run(app, trained):
    body = json.dumps({"parameters": {"C": 0.77}}).encode()
    first_status, first = _post_with_key(app, body, "order-42")
    second_status, second = _post_with_key(app, body, "order-42")
    assert first_status == second_status == 202 and first["run_id"] == second["run_id"]
    run = _wait_for_run(app, first["status_url"])
    assert run["status"] == "completed"
    record_before = app.store.get(f"runs/{first['run_id']}.json")
    assert _post_with_key(app, body, "order-42")[1]["run_id"] == first["run_id"]
    assert app.store.get(f"runs/{first['run_id']}.json") == record_before
    _, page = app.get("/runs?pipeline=retrain&limit=200")
    assert [r["run_id"] for r in page["runs"]].count(first["run_id"]) == 1
    assert _post_with_key(app, body, "order-43")[1]["run_id"] != first["run_id"]


def test_a_malformed_idempotency_key_is_a_400(app):
    status, answer = _post_with_key(app, b"{}", "k" * 300)
    assert status == 400 and "Idempotency-Key" in answer["error"]


def test_models_lists_the_registered_model_with_its_champion(app, trained):
    status, body = app.get("/models")
    assert status == 200
    [model] = body["models"]
    assert (model["name"], model["metric"]) == ("breast_cancer", "roc_auc") and model["champion"] >= 1


def test_a_model_shows_its_versions_with_metrics_and_run(app, trained):
    status, body = app.get("/models/breast_cancer")
    assert status == 200 and body["champion"] in [v["version"] for v in body["versions"]]
    first = body["versions"][0]
    assert first["run_id"] == trained["started"]["run_id"] and "roc_auc" in first["metrics"]


def test_an_unknown_model_is_a_404_and_a_bad_name_a_400(app):
    assert app.get("/models/nobody")[0] == 404
    status, body = app.get("/models/bad%20name")
    assert status == 400 and "model name" in body["error"]
