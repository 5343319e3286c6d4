"""The OpenAPI 3 document of the HTTP API, served at /api/openapi.json."""
from __future__ import annotations

from typing import Any

from durapipe.model.contracts import STEP_STATES

_ERROR = {"description": "A refused request, with a one-sentence message.",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
# What the host answers on any route before the function runs: a missing or wrong key (401), a body
# whose Content-Length is not a number or that is shorter than it says (400), one that stalls (408),
# a chunked body (411) or one over the host's cap (413).
_HOST_ERRORS = {"400": _ERROR, "401": _ERROR, "408": _ERROR, "411": _ERROR, "413": _ERROR}
# What a route that changes something answers before it acts (durapipe.serving.cross_site): a request a
# page of another origin may have forged (403), a body not sent as application/json (415).
_CROSS_SITE_ERRORS = {"403": _ERROR, "415": _ERROR}
_RUN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_STEP = {"name": "step", "in": "path", "required": True, "schema": {"type": "string"}}
_FORMAT = {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["svg", "png", "dot", "mermaid"],
                                                        "default": "svg"},
           "description": "svg and png need Graphviz on the server (501 without it); dot and mermaid are text."}
# Downloads stream from the store and take one byte range (RFC 9110): 206 with Content-Range, or 416
# for a range past the end; any other Range header is ignored and the whole file sent.
_RANGE = {"name": "Range", "in": "header", "schema": {"type": "string", "pattern": "^bytes=[0-9]*-[0-9]*$"},
          "description": "One byte range, e.g. bytes=0-1023, bytes=1024- or bytes=-100 (the last 100 bytes)."}
_PICTURE = {"description": "The picture", "content": {"image/svg+xml": {}, "image/png": {},
                                                       "text/vnd.graphviz": {}, "text/plain": {}}}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The OpenAPI document for the API served under `server_url`."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "durapipe", "version": "1",
                 "description": "Start and follow ML pipeline runs. Every route needs a function key: "
                                "header `x-functions-key` or query `code`."},
        "servers": [{"url": server_url}],
        "security": [{"functionKeyHeader": []}, {"functionKeyQuery": []}],
        "paths": {
            "/pipelines": {"get": {
                "summary": "List the served pipelines with their version, parameters and inputs.",
                "responses": {"200": _ok("PipelineList"), **_HOST_ERRORS}}},
            "/pipelines/{name}/runs": {"post": {
                "summary": "Start a run of a pipeline.",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "Idempotency-Key", "in": "header", "required": False,
                                "description": "The same key (per pipeline) starts one run; repeats answer it.",
                                "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
                "requestBody": {"required": False, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/RunRequest"}}}},
                "responses": {"202": _ok("RunStarted"), "400": _ERROR, **_HOST_ERRORS, **_CROSS_SITE_ERRORS}}},
            "/runs": {"get": {
                "summary": "List runs, newest first.",
                "parameters": [
                    {"name": "pipeline", "in": "query", "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                        "running", "completed", "failed", "canceled"]}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": _ok("RunPage"), "400": _ERROR, **_HOST_ERRORS}}},
            "/runs/{id}": {"get": {
                "summary": "A run: status, per-step progress, outputs and error.",
                "parameters": [_RUN_ID],
                "responses": {"200": _ok("Run"), "400": _ERROR, "404": _ERROR, **_HOST_ERRORS}}},
            "/runs/{id}/cancel": {"post": {
                "summary": "Cancel a running run.",
                "parameters": [_RUN_ID],
                "responses": {"202": _ok("Run"), "400": _ERROR, "404": _ERROR, "409": _ERROR, **_HOST_ERRORS,
                              **_CROSS_SITE_ERRORS}}},
            "/runs/{id}/steps/{step}": {"get": {
                "summary": "One step of a run: its record entry with the fingerprint components of its commit.",
                "parameters": [_RUN_ID, _STEP],
                "responses": {"200": _ok("StepDetail"), "400": _ERROR, **_HOST_ERRORS, "404": _ERROR}}},
            "/runs/{id}/steps/{step}/partitions": {"get": {
                "summary": "A page of a mapped step's partitions by name: each one's state, fingerprint, duration, "
                           "log and, for a failed one, its error.",
                "parameters": [_RUN_ID, _STEP,
                               {"name": "status", "in": "query", "schema": {"type": "string"},
                                "description": "Only the partitions in this state (ran, reused or failed)."},
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                               {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": _ok("PartitionPage"), "400": _ERROR, "404": _ERROR, **_HOST_ERRORS}}},
            "/runs/{id}/steps/{step}/log": {"get": {
                "summary": "What a step printed (stdout, stderr, traceback); for a mapped step, one partition's.",
                "parameters": [_RUN_ID, _STEP, {"name": "partition", "in": "query", "schema": {"type": "string"},
                                                "description": "A partition (file name) of a mapped step."}, _RANGE],
                "responses": {"200": {"description": "The log", "content": {"text/plain": {"schema": {
                    "type": "string"}}}}, "206": {"description": "The byte range asked for", "content": {
                        "text/plain": {"schema": {"type": "string"}}}},
                    **_HOST_ERRORS, "404": _ERROR, "416": _ERROR}}},
            "/runs/{id}/artifacts/{hash}": {"get": {
                "summary": "Download an input, output or log the run names; a folder comes as a zip of its files.",
                "parameters": [_RUN_ID, {"name": "hash", "in": "path", "required": True,
                                         "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}, _RANGE],
                "responses": {"200": {"description": "The artifact", "content": {"application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"}}}},
                    "206": {"description": "The byte range asked for", "content": {"application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    **_HOST_ERRORS, "404": _ERROR, "416": _ERROR}}},
            "/runs/{id}/graph": {"get": {
                "summary": "The run's DAG, each step coloured by state with its duration.",
                "parameters": [_RUN_ID, _FORMAT],
                "responses": {"200": _PICTURE, "400": _ERROR, **_HOST_ERRORS, "404": _ERROR, "501": _ERROR}}},
            "/pipelines/{name}/graph": {"get": {
                "summary": "A served pipeline's DAG: its inputs, steps and outputs.",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                               _FORMAT],
                "responses": {"200": _PICTURE, "400": _ERROR, **_HOST_ERRORS, "501": _ERROR}}},
            "/models": {"get": {
                "summary": "List the registered models with their champion.",
                "responses": {"200": _ok("ModelList"), **_HOST_ERRORS}}},
            "/models/{name}": {"get": {
                "summary": "A model: every version with its metrics and run, and the champion.",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _ok("Model"), "400": _ERROR, **_HOST_ERRORS, "404": _ERROR}}},
            "/openapi.json": {"get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI"},
                                                                                  **_HOST_ERRORS}}},
        },
        "components": {
            "securitySchemes": {
                "functionKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "RunRequest": {"type": "object", "additionalProperties": False, "properties": {
                    "parameters": {"type": "object", "description": "Pipeline parameters by name (JSON values)."},
                    "inputs": {"type": "object", "description": "Pipeline inputs by name: blob names in the store.",
                               "additionalProperties": {"type": "string"}}}},
                "RunStarted": {"type": "object", "properties": {
                    "run_id": {"type": "string"}, "status": {"type": "string"},
                    "status_url": {"type": "string"}, "cancel_url": {"type": "string"}}},
                "Step": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": list(STEP_STATES)},
                    "fingerprint": {"type": "string", "nullable": True},
                    "duration_s": {"type": "number", "nullable": True}, "outputs": {"type": "object"},
                    "error": {"type": "string", "nullable": True},
                    "started": {"type": "string", "nullable": True}, "finished": {"type": "string", "nullable": True},
                    "partitions": {"type": "object", "description": "A mapped step's counts: total, ran, reused."},
                    "by_partition": {"type": "object", "description": "A mapped step's partitions by name."}}},
                "StepDetail": {"type": "object", "properties": {
                    "run_id": {"type": "string"}, "step": {"type": "string"}, "mapped": {"type": "boolean"},
                    "status": {"type": "string"}, "fingerprint": {"type": "string", "nullable": True},
                    "components": {"type": "object", "nullable": True,
                                   "description": "What the fingerprint hashes: code, parameters, inputs, environment."},
                    "log": {"type": "object", "nullable": True}, "outputs": {"type": "object"},
                    "partitions": {"type": "object", "nullable": True},
                    "by_partition": {"type": "object", "nullable": True,
                                     "description": "A mapped step's partitions by name: status, fingerprint, "
                                                    "duration_s, log."}}},
                "Run": {"type": "object", "properties": {
                    "run_id": {"type": "string"}, "pipeline": {"type": "string", "nullable": True},
                    "status": {"type": "string"}, "started": {"type": "string", "nullable": True},
                    "finished": {"type": "string", "nullable": True}, "error": {"type": "string", "nullable": True},
                    "outputs": {"type": "object"}, "params": {"type": "object"},
                    "inputs": {"type": "object", "description": "Input artifacts by name; the hash is the version."},
                    "trigger": {"type": "object"}, "pipeline_version": {"type": "string"},
                    "metrics": {"type": "object"},
                    "registered": {"type": "object", "nullable": True,
                                   "description": "The model version this run registered: model, version."},
                    "registration": {"type": "object", "description": "What the registry decided for a completed "
                                     "run of a model's pipeline, and why: model, version (null: none), decision.",
                                     "properties": {"model": {"type": "string"},
                                                    "version": {"type": "integer", "nullable": True},
                                                    "decision": {"type": "string"}}},
                    "steps": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Step"}}}},
                "PartitionPage": {"type": "object", "properties": {
                    "run_id": {"type": "string"}, "step": {"type": "string"},
                    "partitions": {"type": "array", "items": {"type": "object"}},
                    "next_offset": {"type": "integer", "nullable": True}, "total": {"type": "integer"}}},
                "RunPage": {"type": "object", "properties": {
                    "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
                    "next_offset": {"type": "integer", "nullable": True}, "total": {"type": "integer"}}},
                "ModelList": {"type": "object", "properties": {"models": {"type": "array", "items": {
                    "type": "object", "properties": {
                        "name": {"type": "string"}, "versions": {"type": "integer"}, "latest": {"type": "integer"},
                        "champion": {"type": "integer", "nullable": True},
                        "metric": {"type": "string", "nullable": True},
                        "value": {"type": "number", "nullable": True}}}}}},
                "Model": {"type": "object", "properties": {
                    "name": {"type": "string"}, "champion": {"type": "integer", "nullable": True},
                    "champion_history": {"type": "object", "nullable": True,
                                         "description": "The pointer: version, previous, reason, updated."},
                    "versions": {"type": "array", "items": {"type": "object", "properties": {
                        "version": {"type": "integer"}, "run_id": {"type": "string"},
                        "metrics": {"type": "object"}, "metric": {"type": "string"},
                        "outputs": {"type": "object"}, "created": {"type": "string"}}}}}},
                "PipelineList": {"type": "object", "properties": {"pipelines": {"type": "array", "items": {
                    "type": "object", "properties": {
                        "name": {"type": "string"}, "version": {"type": "string"},
                        "parameters": {"type": "array", "items": {"type": "object"}},
                        "inputs": {"type": "array", "items": {"type": "object"}}}}}}},
            },
        },
    }


def _ok(schema: str) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
