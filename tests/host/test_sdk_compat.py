"""The one module of SDK internals: deferred imports, the timestamp parse, wire enums and the version check.

A process that defers them imports the SDK's client HTTP helpers (and aiohttp) and werkzeug's package init on
first use; importing durapipe.host alone changes nothing, and a host installs all of it when it starts.
"""
import importlib
import importlib.metadata
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

from dateutil.parser import parse as dateutil_parse
from azure.durable_functions.models.actions import ActionType
from azure.durable_functions.models.history import HistoryEventType

from durapipe.host import history, sdk_compat
from durapipe.host.sdk_compat import use_fast_timestamps

SDK = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
FIXTURE_APP = Path(__file__).parent / "fixture_app"

# Runs in a fresh interpreter: this test process has imported the SDK long before.
SCRIPT = textwrap.dedent("""
    import asyncio, importlib, json, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from durapipe.host import sdk_compat
    sdk_compat.defer_host_imports()  # as the entry points do, before anything imports the SDK
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
        from durapipe.host import sdk_compat
        sdk_compat.defer_host_imports()
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
        from durapipe.host import sdk_compat
        sdk_compat.defer_host_imports()
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


# What a fresh interpreter shows of the SDK: deferred modules and patched functions.
SDK_STATE = textwrap.dedent("""
    def sdk_state():
        import importlib, sys
        http_utils, werkzeug = (sys.modules.get(n) for n in ("azure.durable_functions.models.utils.http_utils",
                                                              "werkzeug"))
        events = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
        executor = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
        return {"client_http_deferred": getattr(http_utils, "durapipe_deferred", False),
                "werkzeug_deferred": getattr(werkzeug, "durapipe_deferred", False),
                "fast_timestamps": getattr(events.dt_parse, "durapipe_fast", False),
                "fast_payloads": getattr(executor.df_loads, "durapipe_fast", False)}
""")
UNTOUCHED = {"client_http_deferred": False, "werkzeug_deferred": False, "fast_timestamps": False,
             "fast_payloads": False}


def _fresh(script: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-c", SDK_STATE + textwrap.dedent(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_importing_the_host_changes_nothing_in_the_sdk():
    [state] = _fresh("""
        import json
        import durapipe.host, durapipe.host.local_host, durapipe.host.session, durapipe.host.serve
        print(json.dumps(sdk_state()))
    """)
    assert state == UNTOUCHED


def test_a_local_host_installs_the_sdk_patches_when_it_is_made():
    loaded, made = _fresh(f"""
        import json, tempfile
        from durapipe.host.app_loader import load_app
        from durapipe.host.local_host import LocalHost
        app = load_app({str(FIXTURE_APP)!r}, "main.py")
        print(json.dumps(sdk_state()))
        LocalHost(app, tempfile.mkdtemp())
        print(json.dumps(sdk_state()))
    """)
    assert loaded == UNTOUCHED
    assert made["fast_timestamps"] and made["fast_payloads"]


def test_install_before_the_sdk_is_imported_also_defers_its_unused_imports_and_runs_once():
    first, again = _fresh("""
        import json, sys
        from durapipe.host import sdk_compat
        sdk_compat.install()
        import azure.durable_functions, azure.functions
        print(json.dumps({**sdk_state(), "aiohttp": "aiohttp" in sys.modules}))
        sdk_compat.install()
        print(json.dumps({**sdk_state(), "aiohttp": "aiohttp" in sys.modules}))
    """)
    assert first == again == {"client_http_deferred": True, "werkzeug_deferred": True, "fast_timestamps": True,
                              "fast_payloads": True, "aiohttp": False}


def test_timestamps_the_host_writes_parse_to_the_same_instant_and_offset():
    use_fast_timestamps()
    clock = history.Clock()
    for text in [clock.now(), clock.now(), "2026-11-29T07:39:01Z", "2026-11-29T07:39:01.862317+00:00"]:
        fast, slow = SDK.dt_parse(text), dateutil_parse(text)
        assert fast == slow and fast.utcoffset() == slow.utcoffset(), text


def test_text_that_is_not_iso_8601_still_reaches_dateutil():
    use_fast_timestamps()
    assert SDK.dt_parse("Nov 29 2026 07:39:01") == dateutil_parse("Nov 29 2026 07:39:01")


def test_installing_twice_keeps_one_wrapper():
    use_fast_timestamps()
    first = SDK.dt_parse
    use_fast_timestamps()
    assert SDK.dt_parse is first


def test_the_wire_enums_are_the_sdks_own():
    assert sdk_compat.EventType is HistoryEventType
    assert sdk_compat.ActionType is ActionType


def test_history_events_carry_the_sdks_event_type_numbers():
    event = history.orchestrator_started("2026-11-29T07:39:01.000000Z")
    assert event["EventType"] == HistoryEventType.ORCHESTRATOR_STARTED


def test_a_tested_version_is_not_reported(monkeypatch):
    installed = importlib.metadata.version("azure-functions-durable")
    monkeypatch.setitem(sdk_compat.TESTED_VERSIONS, "azure-functions-durable", ("0.0.1", installed))
    assert "azure-functions-durable" not in sdk_compat.untested_versions()


def test_an_untested_version_is_named_in_one_warning_sentence(monkeypatch, caplog):
    monkeypatch.setitem(sdk_compat.TESTED_VERSIONS, "azure-functions-durable", ("0.0.1",))
    monkeypatch.setattr(sdk_compat, "_checked", False)
    with caplog.at_level(logging.WARNING, logger=sdk_compat.__name__):
        sdk_compat.check_sdk_versions()
        sdk_compat.check_sdk_versions()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    installed = importlib.metadata.version("azure-functions-durable")
    assert len(warnings) == 1
    assert f"azure-functions-durable 0.0.1, not the installed azure-functions-durable {installed}" in warnings[0]
    assert warnings[0].count(". ") == 0 and warnings[0].endswith(".")


TEXTS = [
    '{"run_id": "r1", "steps": [{"name": "a", "outputs": {"out": {"hash": "ab", "size": 3}}}], "n": 1.5}',
    '[1, "two", null, true, {"x": {"y": []}}]',
    '"caf\\u00e9"',  # an escape: decoded the SDK's way
    '{"\\u005f_class__": "Point", "__module__": "tests.host.test_sdk_compat", "__data__": [1, 2]}',
]


class Point:
    """A custom object as the SDK's envelope carries it."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    @staticmethod
    def to_json(obj):
        return [obj.x, obj.y]

    @classmethod
    def from_json(cls, data):
        return cls(*data)


def test_fast_payload_decoding_gives_what_the_sdks_df_loads_gives():
    from azure.functions._durable_functions import df_dumps as sdk_dumps, df_loads as sdk_loads

    sdk_compat.use_fast_payload_decoding()
    executor = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    assert getattr(executor.df_loads, "durapipe_fast", False)
    for text in TEXTS:
        fast, slow = executor.df_loads(text), sdk_loads(text)
        if isinstance(slow, Point):  # the escaped envelope went to the SDK, which rebuilt the object
            assert isinstance(fast, Point) and (fast.x, fast.y) == (slow.x, slow.y)
        else:
            assert fast == slow, text
    enveloped = executor.df_loads(sdk_dumps({"p": Point(3, 4)}))
    assert isinstance(enveloped["p"], Point) and (enveloped["p"].x, enveloped["p"].y) == (3, 4)


def test_fast_payload_decoding_leaves_plain_json_to_json_loads_alone(monkeypatch):
    sdk_compat.use_fast_payload_decoding()
    context = importlib.import_module("azure.durable_functions.models.DurableOrchestrationContext")
    slow_calls = []
    slow = context.df_loads.durapipe_slow
    monkeypatch.setattr(context.df_loads, "durapipe_slow", lambda *a: slow_calls.append(a) or slow(*a))
    assert context.df_loads(TEXTS[0]) == json.loads(TEXTS[0])
    assert slow_calls == []
    context.df_loads(TEXTS[2])
    assert slow_calls == [(TEXTS[2], None)]


def test_installing_fast_payload_decoding_twice_keeps_one_wrapper():
    sdk_compat.use_fast_payload_decoding()
    executor = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    first = executor.df_loads
    sdk_compat.use_fast_payload_decoding()
    assert executor.df_loads is first and not getattr(first.durapipe_slow, "durapipe_fast", False)
