"""The serve HTTP front under load and against slow clients: a deep listen queue, every simultaneous request
answered, a request that never finishes arriving closed, a streamed body sent in chunks with its length."""
from __future__ import annotations

import socket
import subprocess
import threading
from typing import Any, Iterator

import azure.functions as func
import pytest

from durapipe.host.app_loader import FunctionInfo
from durapipe.host.http_server import LISTEN_BACKLOG, HttpServer, compile_route
from durapipe.host.streamed_response import StreamedHttpResponse

KEY = "front-test-key-0123456789"
CHUNK = 1 << 20


def _hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(b'{"hello": "you"}', mimetype="application/json")


def _chunks(count: int) -> Iterator[bytes]:
    for index in range(count):
        yield bytes([index % 256]) * CHUNK


def _streamed(req: func.HttpRequest) -> func.HttpResponse:
    count = int(req.params.get("chunks", "3"))
    return StreamedHttpResponse(lambda: _chunks(count), count * CHUNK, mimetype="application/octet-stream")


def _failing(req: func.HttpRequest) -> func.HttpResponse:
    def chunks() -> Iterator[bytes]:
        yield b"x" * CHUNK
        yield b"y" * CHUNK
        raise OSError("the store went away")

    return StreamedHttpResponse(chunks, 3 * CHUNK, mimetype="application/octet-stream")


def _function(name: str, handler: Any) -> FunctionInfo:
    return FunctionInfo(name, name, "httpTrigger", [{"type": "httpTrigger", "name": "req", "route": name}], handler)


def _invoke(fn: FunctionInfo, request: Any) -> Any:
    return fn.user_function(request)


@pytest.fixture(scope="module")
def front() -> Iterator[HttpServer]:
    routes = [compile_route(_function("hello", _hello), "hello", ["GET"]),
              compile_route(_function("streamed", _streamed), "streamed", ["GET", "HEAD"]),
              compile_route(_function("failing", _failing), "failing", ["GET"])]
    http = HttpServer(routes, "api", KEY, _invoke, lambda *args: (404, {}, b""), port=0, request_timeout=1.0).start()
    yield http
    http.close()


def _exchange(front: HttpServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", front.port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_listening_socket_queues_thousands_of_connections(front):
    # `ss` shows a listening socket's accept-queue limit in its Send-Q column.
    line = subprocess.run(["ss", "-ltnH", f"sport = :{front.port}"], capture_output=True, text=True,
                          check=True).stdout.split()
    with open("/proc/sys/net/core/somaxconn") as limit:
        expected = min(LISTEN_BACKLOG, int(limit.read()))
    assert LISTEN_BACKLOG >= 2048 and int(line[2]) == expected, line


def test_two_hundred_simultaneous_requests_are_all_answered(front):
    answers: list[bytes | str] = [b""] * 200
    start = threading.Barrier(len(answers))

    def ask(index: int) -> None:
        start.wait()
        try:
            answers[index] = _exchange(front, f"GET /api/hello HTTP/1.1\r\nHost: x\r\nx-functions-key: {KEY}\r\n"
                                              "Connection: close\r\n\r\n".encode())
        except OSError as exc:
            answers[index] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(answers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [a for a in answers if not (isinstance(a, bytes) and a.startswith(b"HTTP/1.1 200"))]
    assert not failed, failed[:3]


def test_a_request_whose_headers_never_finish_is_closed(front):
    with socket.create_connection(("127.0.0.1", front.port), timeout=30) as sock:
        sock.sendall(b"GET /api/hello HTTP/1.1\r\nHost: x\r\nx-functions-key: ")
        assert sock.recv(1 << 16) == b""  # closed by the server after its request timeout, nothing answered


def test_a_body_that_stops_arriving_is_a_408(front):
    with socket.create_connection(("127.0.0.1", front.port), timeout=30) as sock:
        sock.sendall(f"POST /api/hello HTTP/1.1\r\nHost: x\r\nx-functions-key: {KEY}\r\n"
                     "Content-Length: 100\r\n\r\nonly ten b".encode())
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 408") and "did not arrive" in answer


def test_a_streamed_body_is_sent_whole_with_its_length(front):
    head, _, body = _exchange(front, f"GET /api/streamed?chunks=5 HTTP/1.1\r\nHost: x\r\nx-functions-key: {KEY}\r\n"
                                     "Connection: close\r\n\r\n".encode()).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {5 * CHUNK}".encode() in head
    assert body == b"".join(_chunks(5))


def test_a_streamed_body_answers_head_with_its_length_and_no_bytes(front):
    head, _, body = _exchange(front, f"HEAD /api/streamed HTTP/1.1\r\nHost: x\r\nx-functions-key: {KEY}\r\n"
                                     "Connection: close\r\n\r\n".encode()).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {3 * CHUNK}".encode() in head and body == b""


def test_a_streamed_body_whose_source_fails_is_cut_short_not_completed(front):
    head, _, body = _exchange(front, f"GET /api/failing HTTP/1.1\r\nHost: x\r\nx-functions-key: {KEY}\r\n"
                                     "\r\n".encode()).partition(b"\r\n\r\n")
    # The status line was out: the connection closes with fewer bytes than announced, so the client knows.
    assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {3 * CHUNK}".encode() in head
    assert len(body) < 3 * CHUNK


def test_a_streamed_response_is_read_whole_where_the_host_cannot_stream():
    # The Azure Functions worker reads a response's body with get_body(): the same bytes, held whole.
    response = _streamed(func.HttpRequest("GET", "http://x/api/streamed", params={"chunks": "2"}, body=b""))
    assert response.get_body() == b"".join(_chunks(2))
