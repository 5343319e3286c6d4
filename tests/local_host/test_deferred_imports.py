"""The host imports the SDK's client HTTP helpers (and aiohttp) and werkzeug's package init on first use."""
import json
import subprocess
import sys
import textwrap

# Runs in a fresh interpreter: this test process has imported the SDK long before.
SCRIPT = textwrap.dedent("""
    import asyncio, importlib, json, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import durapipe.local
    import azure.durable_functions as df
    client_module = importlib.import_module("azure.durable_functions.models.DurableOrchestrationClient")

    print(json.dumps({"aiohttp_after_sdk_import": "aiohttp" in sys.modules}))

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            reply = json.dumps({"got": json.loads(body)}).encode()
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/start"
    status, body = asyncio.run(client_module.post_async_request(url, {"input": 7}))
    real = sys.modules["azure.durable_functions.models.utils.http_utils"]
    print(json.dumps({
        "status": status, "body": body,
        "aiohttp_after_call": "aiohttp" in sys.modules,
        "real_module": not getattr(real, "durapipe_deferred", False) and real.__file__.endswith("http_utils.py"),
    }))
    server.shutdown()
""")


def test_importing_the_sdk_under_the_host_does_not_import_aiohttp_and_the_client_still_posts():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    before, after = (json.loads(line) for line in out.stdout.splitlines())
    assert before == {"aiohttp_after_sdk_import": False}
    assert after["status"] == 202
    assert after["body"] == {"got": {"input": 7}}
    assert after["aiohttp_after_call"] and after["real_module"]


def test_other_attributes_of_the_deferred_module_load_the_sdk_module():
    script = textwrap.dedent("""
        import sys
        import durapipe.local
        import azure.durable_functions
        name = "azure.durable_functions.models.utils.http_utils"
        stand_in = sys.modules[name]
        assert getattr(stand_in, "durapipe_deferred", False)
        session = stand_in._get_session  # not one of the three client calls
        assert session.__module__ == name and "aiohttp" in sys.modules
        assert not getattr(sys.modules[name], "durapipe_deferred", False)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_werkzeug_submodules_work_without_its_package_init_which_runs_when_a_name_of_it_is_used():
    script = textwrap.dedent("""
        import json, sys
        import durapipe.local
        import azure.functions as func

        loaded_early = "werkzeug.serving" in sys.modules or "werkzeug.test" in sys.modules
        request = func.HttpRequest("POST", "http://localhost/api/x", headers={
            "Content-Type": "application/x-www-form-urlencoded"}, body=b"a=1&b=two")
        form = dict(request.form)
        from werkzeug import Request
        print(json.dumps({"loaded_early": loaded_early, "form": form, "request": Request.__module__,
                          "serving_after": "werkzeug.serving" in sys.modules}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"loaded_early": False, "form": {"a": "1", "b": "two"},
                                      "request": "werkzeug.wrappers.request", "serving_after": True}
