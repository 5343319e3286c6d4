"""The OpenAPI 3 document of the HTTP API, served at /api/openapi.json."""
from __future__ import annotations

from typing import Any

from durapipe.contracts import STEP_STATES

_ERROR = {"description": "A refused request, with a one-sentence message.",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_RUN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


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
                "responses": {"200": _ok("PipelineList"), "401": _ERROR}}},
            "/pipelines/{name}/runs": {"post": {
                "summary": "Start a run of a pipeline.",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": False, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/RunRequest"}}}},
                "responses": {"202": _ok("RunStarted"), "400": _ERROR, "401": _ERROR, "413": _ERROR}}},
            "/runs": {"get": {
                "summary": "List runs, newest first.",
                "parameters": [
                    {"name": "pipeline", "in": "query", "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                        "running", "completed", "failed", "canceled"]}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": _ok("RunPage"), "400": _ERROR, "401": _ERROR}}},
            "/runs/{id}": {"get": {
                "summary": "A run: status, per-step progress, outputs and error.",
                "parameters": [_RUN_ID],
                "responses": {"200": _ok("Run"), "400": _ERROR, "401": _ERROR, "404": _ERROR}}},
            "/runs/{id}/cancel": {"post": {
                "summary": "Cancel a running run.",
                "parameters": [_RUN_ID],
                "responses": {"202": _ok("Run"), "401": _ERROR, "404": _ERROR, "409": _ERROR}}},
            "/openapi.json": {"get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI"}}}},
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
                    "status_url": {"type": "string"}, "cancel_url": {"type": "string"},
                    "durable": {"type": "object"}}},
                "Step": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": list(STEP_STATES)},
                    "fingerprint": {"type": "string", "nullable": True},
                    "duration_s": {"type": "number", "nullable": True}, "outputs": {"type": "object"},
                    "error": {"type": "string", "nullable": True}}},
                "Run": {"type": "object", "properties": {
                    "run_id": {"type": "string"}, "pipeline": {"type": "string", "nullable": True},
                    "status": {"type": "string"}, "started": {"type": "string", "nullable": True},
                    "finished": {"type": "string", "nullable": True}, "error": {"type": "string", "nullable": True},
                    "outputs": {"type": "object"},
                    "steps": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Step"}}}},
                "RunPage": {"type": "object", "properties": {
                    "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
                    "next_offset": {"type": "integer", "nullable": True}, "total": {"type": "integer"}}},
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
