"""Requests at the edges of what the API reads: deep JSON, repeated headers, huge values; each a 400 with a sentence."""
from __future__ import annotations

import json
import socket

import pytest

from tests.http_api.conftest import KEY, App


def _start(app: App, body: bytes) -> tuple[int, dict]:
    return app.post("/pipelines/retrain/runs", body)


def _nested(depth: int) -> bytes:
    return b'{"parameters": {"C": ' + b"[" * depth + b"1" + b"]" * depth + b"}}"


@pytest.mark.parametrize("depth", [100, 500, 700, 989, 990, 5000])
def test_a_parameter_nested_at_any_depth_is_a_400_with_a_sentence(app, depth):
    status, answer = _start(app, _nested(depth))
    assert status == 400, answer
    assert answer["error"].endswith(".") and "\n" not in answer["error"] and len(answer["error"]) < 500


def test_a_huge_list_parameter_is_refused_without_echoing_it_back(app):
    status, answer = _start(app, json.dumps({"parameters": {"C": list(range(6000))}}).encode())
    assert status == 400 and "'C'" in answer["error"], answer
    assert len(answer["error"]) < 400 and "…" in answer["error"]


def test_a_huge_unknown_parameter_name_is_not_echoed_back(app):
    status, answer = _start(app, json.dumps({"parameters": {"x" * 30000: 1}}).encode())
    assert status == 400 and len(answer["error"]) < 500, len(answer["error"])


def _raw(app: App, request: bytes) -> str:
    host, port = app.api.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("lengths", [(2, 2), (2, 40), (40, 2)])
def test_two_content_length_headers_are_a_400(app, lengths):
    body = b"{}" + b" " * 38
    answer = _raw(app, (f"POST /api/pipelines/retrain/runs HTTP/1.1\r\nHost: x\r\nx-functions-key: {KEY}\r\n"
                        f"Connection: close\r\ncontent-type: application/json\r\nContent-Length: {lengths[0]}\r\n"
                        f"Content-Length: {lengths[1]}\r\n\r\n").encode() + body)
    status_line, _, rest = answer.partition("\r\n")
    assert status_line.startswith("HTTP/1.1 400"), answer
    assert "Content-Length" in rest and '"error"' in rest
