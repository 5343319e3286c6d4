"""The HTTP side of `durapipe serve`: routes behind the function key, the durable client, limits."""
import base64
import socket

import pytest

from durapipe.host.app_loader import load_app
from durapipe.host.rpc import RPC_PREFIX
from tests.host.serve.conftest import FIXTURE_APP, FIXTURE_SCRIPT, call, wait_for


def fixture_routes():
    """(method, path) of every route of the fixture app, parameters filled in, from its bindings."""
    app = load_app(FIXTURE_APP, FIXTURE_SCRIPT)
    out = []
    for fn in app.by_trigger("httpTrigger"):
        path = fn.trigger["route"].replace("{name}", "x").replace("{id:int}", "1")
        out += [(method, f"/api/{path}") for method in fn.trigger["methods"]]
    return out


ROUTES = fixture_routes()
RPC_ENDPOINTS = [("GET", f"{RPC_PREFIX}instances/some-id"), ("GET", f"{RPC_PREFIX}instances/"),
                 ("POST", f"{RPC_PREFIX}orchestrators/greet"), ("DELETE", f"{RPC_PREFIX}instances/some-id"),
                 ("POST", f"{RPC_PREFIX}instances/some-id/terminate")]


def test_a_durable_starter_runs_an_orchestration_whose_status_url_is_callable(served):
    status, headers, body = call("POST", f"{served.base_url}/api/greet/bob?code={served.key}")
    assert status == 202
    assert body["statusQueryGetUri"].startswith(f"{served.base_url}{RPC_PREFIX}instances/{body['id']}")
    assert headers["Location"] == body["statusQueryGetUri"]

    def finished():
        _, _, state = call("GET", body["statusQueryGetUri"])
        return state if state["runtimeStatus"] in ("Completed", "Failed") else None

    state = wait_for(finished, timeout=60)
    assert state["runtimeStatus"] == "Completed" and state["output"] == "hello bob"


def test_the_function_gets_the_request_and_its_response_is_written_back(served):
    status, headers, body = call("POST", f"{served.base_url}/api/echo?a=1&a=2", b"payload",
                                 {"x-functions-key": served.key, "x-echo": "hi"})
    assert status == 201 and headers["x-served-by"] == "fixture"
    assert headers["Content-Type"].startswith("application/json")
    assert body["method"] == "POST" and body["body"] == "payload" and body["header"] == "hi"
    assert body["params"]["a"] == "1,2" and body["url"].startswith(served.base_url + "/api/echo")


def test_route_constraints_and_parameters_are_applied(served):
    assert call("GET", f"{served.base_url}/api/runs/42?code={served.key}")[2] == {"id": "42"}
    assert call("GET", f"{served.base_url}/api/runs/abc?code={served.key}")[0] == 404


@pytest.mark.parametrize("method,path", ROUTES + RPC_ENDPOINTS + [("GET", "/api/nowhere"), ("GET", "/")])
def test_every_route_and_rpc_endpoint_refuses_a_missing_key(served, method, path):
    status, _, body = call(method, served.base_url + path, b"" if method == "POST" else None)
    assert status == 401 and "function key" in body["error"]


@pytest.mark.parametrize("method,path", ROUTES + RPC_ENDPOINTS)
def test_every_route_and_rpc_endpoint_refuses_a_wrong_key(served, method, path):
    wrong = "x" * len(served.key)
    assert call(method, f"{served.base_url}{path}?code={wrong}", b"" if method == "POST" else None)[0] == 401
    assert call(method, served.base_url + path, b"" if method == "POST" else None,
                {"x-functions-key": wrong})[0] == 401
    basic = base64.b64encode(f"durapipe:{wrong}".encode()).decode()
    assert call(method, served.base_url + path, b"" if method == "POST" else None,
                {"Authorization": f"Basic {basic}"})[0] == 401


def test_the_key_cookie_is_accepted_like_the_header(served):
    status, _, body = call("POST", f"{served.base_url}/api/greet/bob", headers={"Cookie": f"durapipe_key={served.key}"})
    assert status == 202, body


@pytest.mark.parametrize("cookie", ["durapipe_key=wrong-key-0123456789", "other=1", "durapipe_key", '"=;;'])
def test_a_wrong_or_malformed_key_cookie_is_refused(served, cookie):
    status, _, body = call("POST", f"{served.base_url}/api/greet/bob", headers={"Cookie": cookie})
    assert status == 401 and "function key" in body["error"]


def test_a_browser_without_the_key_gets_an_html_page_saying_how_to_sign_in(served):
    status, headers, body = call("GET", f"{served.base_url}/api/echo", headers={"Accept": "text/html,*/*"})
    assert status == 401 and headers["Content-Type"].startswith("text/html")
    assert "?code=KEY" in body and "x-functions-key" in body


def test_rpc_endpoints_accept_the_system_key(served):
    status, _, body = call("GET", f"{served.base_url}{RPC_PREFIX}instances/no-such-run?code={served.system_key}")
    assert status == 404 and "no-such-run" in body["Message"]


@pytest.mark.parametrize("method,path", RPC_ENDPOINTS)
def test_every_rpc_endpoint_refuses_the_function_key(served, method, path):
    body = b"" if method == "POST" else None
    status, _, answer = call(method, f"{served.base_url}{path}?code={served.key}", body)
    assert status == 401 and "system key" in answer["error"]
    assert call(method, served.base_url + path, body, {"x-functions-key": served.key})[0] == 401


def test_the_system_key_is_not_the_function_key_and_opens_no_route(served):
    assert served.system_key != served.key
    assert call("GET", f"{served.base_url}/api/runs/42?code={served.system_key}")[0] == 401


def test_function_code_gets_the_system_key_through_its_client_binding(served):
    _, _, body = call("POST", f"{served.base_url}/api/greet/ann?code={served.key}")
    assert f"code={served.system_key}" in body["statusQueryGetUri"]
    assert f"code={served.key}" not in body["statusQueryGetUri"]


def test_an_unknown_route_or_method_with_the_key_is_404(served):
    status, _, body = call("GET", f"{served.base_url}/api/nowhere?code={served.key}")
    assert status == 404 and "/api/nowhere" in body["error"]
    assert call("DELETE", f"{served.base_url}/api/echo?code={served.key}")[0] == 404


def test_a_body_over_the_cap_is_413_before_it_is_sent(served):
    host, port = served.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /api/echo HTTP/1.1\r\nHost: {host}\r\nx-functions-key: {served.key}\r\n"
                     f"Content-Length: {11 * 1024 * 1024}\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):  # the server closes the connection after answering
            chunks.append(chunk)
    answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 413") and "limit" in answer


def test_a_raising_function_is_a_generic_500_without_the_traceback(served):
    status, _, body = call("GET", f"{served.base_url}/api/boom?code={served.key}")
    text = str(body)
    assert status == 500 and "boom" in body["error"] and body["incident"]
    assert "secret internal detail" not in text and "Traceback" not in text and "RuntimeError" not in text


def _raw_exchange(served, request: bytes, half_close: bool = False) -> str:
    host, port = served.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_any_method_goes_through_the_key_check_first(served, method):
    answer = _raw_exchange(served, f"{method} /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    assert answer.startswith("HTTP/1.1 401") and '"error"' in answer


def test_a_body_shorter_than_its_content_length_is_a_400(served):
    answer = _raw_exchange(served, f"POST /api/echo HTTP/1.1\r\nHost: x\r\nx-functions-key: {served.key}\r\n"
                                   f"Content-Length: 100\r\n\r\nonly ten b".encode(), half_close=True)
    assert answer.startswith("HTTP/1.1 400") and "Content-Length" in answer


def test_a_malformed_request_line_is_answered_with_a_json_sentence(served):
    answer = _raw_exchange(served, b"GET /api/echo HTTP/9\r\n\r\n")
    status_line, _, rest = answer.partition("\r\n")
    assert status_line.startswith("HTTP/1.1 4") and "<html" not in answer.lower() and '{"error": ' in rest


@pytest.mark.parametrize("query", ["createdTimeFrom=notadate", "createdTimeTo=2026-13-45", "runtimeStatus=Sleeping"])
def test_a_malformed_instance_query_is_a_400(served, query):
    status, _, body = call("GET", f"{served.base_url}{RPC_PREFIX}instances/?{query}&code={served.system_key}")
    assert status == 400 and body["Message"].endswith(".")


def test_a_start_request_nested_1000_deep_is_a_400(served):
    body = b"[" * 1000 + b"]" * 1000
    status, _, answer = call("POST", f"{served.base_url}{RPC_PREFIX}orchestrators/greet?code={served.system_key}",
                             body, {"content-type": "application/json"})
    assert 400 <= status < 500, answer


@pytest.mark.parametrize("instance_id,status", [("x" * 128, 202), ("a.b-c_1", 202), ("x" * 129, 400),
                                                 ("." * 256, 400), ("..", 400), ("a..b", 400), (".hidden", 400),
                                                 ("%E2%80%A5x", 400), ("-x", 400), ("a%23b", 400), ("a%3Fb", 400),
                                                 ("a%5Cb", 400), ("a%00b", 400), ("a%20b", 400)])
def test_an_instance_id_is_held_to_the_rule_for_run_ids(served, instance_id, status):
    url = f"{served.base_url}{RPC_PREFIX}orchestrators/greet/{instance_id}?code={served.system_key}"
    answer = call("POST", url, b'{"name": "id"}', {"content-type": "application/json"})
    assert answer[0] == status, answer
    if status == 400:
        assert answer[2]["Message"].startswith("The instance id ") and answer[2]["Message"].endswith(".")


def test_two_content_length_headers_are_a_400_even_when_they_agree(served):
    answer = _raw_exchange(served, f"POST /api/echo HTTP/1.1\r\nHost: x\r\nx-functions-key: {served.key}\r\n"
                                   f"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{{}}".encode())
    assert answer.startswith("HTTP/1.1 400") and "more than one Content-Length" in answer
