"""Cross-site requests: a page served from another port of 127.0.0.1 (the same site, so the SameSite=Strict
key cookie goes along) can neither start nor cancel a run, whatever it sends; the app's own pages still can (tests/serving/web/test_pipelines_page.py)."""
from __future__ import annotations

import html
import json
import threading
import time
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

from tests.host.serve.conftest import call
from tests.serving.web.conftest import KEY, WebApp, signed_in

HOSTILE_LIFETIME_S = 60.0
# How long a run the hostile page might have started is given to show up before "none started" is believed.
SETTLE_S = 3.0


@contextmanager
def hostile_site(page_html: str) -> Iterator[str]:
    """Serve `page_html` at / of another loopback port for the `with` block (at most HOSTILE_LIFETIME_S)."""
    class Hostile(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = page_html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="hostile-site", daemon=True)
    thread.start()
    # A test that hangs must not leave the hostile site up for good.
    timer = threading.Timer(HOSTILE_LIFETIME_S, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        timer.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _auto_submitted_form(action: str, fields: dict[str, str], enctype: str) -> str:
    inputs = "".join(f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                     for name, value in fields.items())
    return (f'<!doctype html><html><body><form method="POST" enctype="{enctype}" action="{html.escape(action)}">'
            f'{inputs}</form><script>document.forms[0].submit()</script></body></html>')


def _json_as_text_plain_form(action: str, salt: str) -> str:
    """A form whose text/plain body, `name=value`, parses as the JSON of a run request of shapes."""
    name, value = '{"parameters": {"n": 1, "salt": "', f'{salt}"}}}}'
    assert json.loads(f"{name}={value}\r\n") == {"parameters": {"n": 1, "salt": f"={salt}"}}
    return _auto_submitted_form(action, {name: value}, "text/plain")


def _runs_with_salt(web_app: WebApp, salt: str) -> list[str]:
    """Ids of the runs of shapes whose salt parameter is `salt`, waiting up to SETTLE_S for one to show up."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        status, page = web_app.api("GET", "/runs?pipeline=shapes&limit=200")
        assert status == 200, page
        found = [r["run_id"] for r in page["runs"]
                 if (web_app.api("GET", f"/runs/{r['run_id']}")[1].get("params") or {}).get("salt") == salt]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _submit_from(page: Any, hostile_url: str, target: str) -> Any:
    """Open the hostile page, which submits itself to `target`; the answer the browser navigated to."""
    with page.expect_navigation(url=lambda url: url.startswith(target), timeout=30_000) as navigation:
        page.goto(hostile_url)
    return navigation.value


def test_a_text_plain_form_from_another_port_does_not_start_a_run(page, web_app):
    signed_in(page, web_app, "/")
    salt = uuid.uuid4().hex
    action = f"{web_app.url}/api/pipelines/shapes/runs"
    with hostile_site(_json_as_text_plain_form(action, salt)) as hostile:
        answer = _submit_from(page, hostile, action)
    assert _runs_with_salt(web_app, f"={salt}") == [], f"the hostile form started a run ({answer.status})"
    assert answer.status == 403


def test_a_form_from_another_port_does_not_cancel_a_run(page, web_app, tmp_path):
    gate = tmp_path / "gate"
    run_id = web_app.start_run("gated", {"gate": str(gate)})
    try:
        signed_in(page, web_app, "/")
        action = f"{web_app.url}/api/runs/{run_id}/cancel"
        with hostile_site(_auto_submitted_form(action, {}, "application/x-www-form-urlencoded")) as hostile:
            answer = _submit_from(page, hostile, action)
        status, view = web_app.api("GET", f"/runs/{run_id}")
        assert status == 200 and view["status"] != "canceled", f"the hostile form canceled the run ({answer.status})"
        assert answer.status == 403
    finally:
        gate.write_text("open")
    assert web_app.finished_run(run_id)["status"] == "completed"


def test_a_no_cors_fetch_from_another_port_does_not_start_a_run(page, web_app):
    signed_in(page, web_app, "/")
    salt = uuid.uuid4().hex
    request = json.dumps({"parameters": {"n": 1, "salt": salt}})
    script = (f"fetch({json.dumps(web_app.url + '/api/pipelines/shapes/runs')}, {{method: 'POST', mode: 'no-cors', "
              f"credentials: 'include', headers: {{'Content-Type': 'application/json'}}, body: {json.dumps(request)}}})"
              ".then(() => { document.title = 'sent'; }, () => { document.title = 'refused'; });")
    with hostile_site(f"<!doctype html><html><head><title>hostile</title></head><body><script>{script}</script>"
                      "</body></html>") as hostile:
        page.goto(hostile)
        page.wait_for_function("document.title !== 'hostile'", timeout=30_000)
    assert _runs_with_salt(web_app, salt) == []


def test_a_post_carrying_the_key_cookie_from_another_origin_is_a_403(web_app):
    status, _, answer = call("POST", f"{web_app.url}/api/pipelines/shapes/runs", b'{"parameters": {"n": 1}}',
                             {"Cookie": f"durapipe_key={KEY}", "Content-Type": "application/json",
                              "Origin": "http://127.0.0.1:1"})
    assert status == 403 and "origin" in answer["error"]


def test_a_post_carrying_the_key_cookie_and_no_origin_or_fetch_metadata_is_a_403(web_app):
    status, _, answer = call("POST", f"{web_app.url}/api/runs/some-run/cancel", b"",
                             {"Cookie": f"durapipe_key={KEY}"})
    assert status == 403 and "origin" in answer["error"]


def test_a_post_carrying_the_key_cookie_from_the_apps_own_origin_is_served(web_app):
    status, _, answer = call("POST", f"{web_app.url}/api/runs/no-such-run/cancel", b"",
                             {"Cookie": f"durapipe_key={KEY}", "Origin": web_app.url})
    assert status == 404, answer
    status, _, answer = call("POST", f"{web_app.url}/api/runs/no-such-run/cancel", b"",
                             {"Cookie": f"durapipe_key={KEY}", "Sec-Fetch-Site": "same-origin"})
    assert status == 404, answer


def test_a_run_request_body_that_is_not_declared_json_is_a_415(web_app):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/jsonp"):
        headers = {"x-functions-key": KEY, "Content-Type": content_type}
        status, _, answer = call("POST", f"{web_app.url}/api/pipelines/shapes/runs", b'{"parameters": {"n": 1}}',
                                 headers)
        assert status == 415 and "application/json" in answer["error"], (content_type, status, answer)


def test_the_key_header_is_served_whatever_the_origin(web_app):
    # A page of another origin cannot send the x-functions-key header without a CORS preflight, which the
    # host never grants: a request carrying it was sent by someone holding the key, not forged by a page.
    status, _, answer = call("POST", f"{web_app.url}/api/pipelines/shapes/runs",
                             json.dumps({"parameters": {"n": 1, "salt": uuid.uuid4().hex}}).encode(),
                             {"x-functions-key": KEY, "Content-Type": "application/json; charset=utf-8",
                              "Origin": "http://127.0.0.1:1"})
    assert status == 202, answer
    assert web_app.finished_run(answer["run_id"])["status"] == "completed"

