"""The parts of `durapipe serve` without a server: routes, keys, blob watches, timer schedules."""
import json
import os
import stat
import threading
import time

import pytest

from durapipe.core.errors import UsageError
from durapipe.host.app_loader import load_app
from durapipe.host.blob_poller import BlobPoller, blob_watches
from durapipe.host.http_server import compile_route
from durapipe.host.invoker import keyed_client_binding_json
from durapipe.host.function_key import function_key, system_key
from durapipe.host.timers import TimerScheduler, check_schedule, next_tick, resolve_settings, timer_schedules
from durapipe.store.local import LocalStore
from tests.host.serve.conftest import FIXTURE_APP, FIXTURE_SCRIPT


@pytest.fixture(scope="module")
def app():
    return load_app(FIXTURE_APP, FIXTURE_SCRIPT)


# ---------------------------------------------------------------- routes

@pytest.mark.parametrize("template,path,params", [
    ("pipelines/{name}/runs", "pipelines/retrain/runs", {"name": "retrain"}),
    ("pipelines/{name}/runs", "PIPELINES/retrain/runs", {"name": "retrain"}),
    ("runs/{id:int}", "runs/12", {"id": "12"}),
    ("runs/{id}", "runs/a%20b", {"id": "a b"}),
    ("files/{*rest}", "files/a/b/c", {"rest": "a/b/c"}),
    ("items/{id?}", "items", {}),
    ("items/{id?}", "items/7", {"id": "7"}),
    ("data/{name}.csv", "data/x.csv", {"name": "x"}),
])
def test_a_route_template_matches_and_extracts_parameters(app, template, path, params):
    assert compile_route(app.functions["echo"], template, ["GET"]).match(path) == params


@pytest.mark.parametrize("template,path", [
    ("runs/{id:int}", "runs/abc"), ("runs/{id}", "runs/a/b"), ("runs/{id}", "runs"), ("openapi.json", "openapiXjson"),
])
def test_a_route_template_refuses_other_paths(app, template, path):
    assert compile_route(app.functions["echo"], template, None).match(path) is None


# ---------------------------------------------------------------- keys

def test_a_new_key_is_written_with_mode_0600_and_read_back(tmp_path):
    key, source = function_key(tmp_path, {})
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert function_key(tmp_path, {}) == (key, source)


def test_a_widened_key_file_is_made_private_again(tmp_path):
    key, _ = function_key(tmp_path, {})
    os.chmod(tmp_path / "keys.json", 0o644)
    assert function_key(tmp_path, {})[0] == key
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600


def test_the_system_key_is_kept_beside_the_function_key_and_differs_from_it(tmp_path):
    key, _ = function_key(tmp_path, {})
    made = system_key(tmp_path, {})
    assert made != key and system_key(tmp_path, {}) == made and function_key(tmp_path, {})[0] == key
    assert json.loads((tmp_path / "keys.json").read_text())["systemKeys"]["durabletask_extension"] == made
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600


def test_a_malformed_key_in_the_environment_is_refused(tmp_path):
    with pytest.raises(UsageError, match="DURAPIPE_FUNCTION_KEY"):
        function_key(tmp_path, {"DURAPIPE_FUNCTION_KEY": "short"})


def test_every_client_url_carries_the_key():
    binding = json.loads(keyed_client_binding_json("http://127.0.0.1:7071", "k" * 20))
    urls = [u for group in ("creationUrls", "managementUrls") for n, u in binding[group].items() if n != "id"]
    assert all(u.endswith("&code=" + "k" * 20) for u in urls)
    assert binding["rpcBaseUrl"] == f"http://durapipe:{'k' * 20}@127.0.0.1:7071/runtime/webhooks/durabletask/"


# ---------------------------------------------------------------- blob watches and the poller

def test_a_blob_path_gives_the_watched_prefix(app):
    watches = {w.function.name: w for w in blob_watches(app, {})}
    assert (watches["score_arrived_blob"].container, watches["score_arrived_blob"].prefix) == ("durapipe", "incoming/")


def test_the_incoming_prefix_can_be_overridden(app):
    watch = next(w for w in blob_watches(app, {"DURAPIPE_INCOMING_PREFIX": "drop/"})
                 if w.function.name == "score_arrived_blob")
    assert watch.prefix == "drop/" and watch.pattern.fullmatch("drop/a.csv")


def test_a_poisoned_version_is_never_tried_again_even_after_a_restart(app, tmp_path):
    store = LocalStore(tmp_path / "store")
    store.put("failing/a.csv", b"x")
    calls = []

    def invoke(fn, blob):
        calls.append(blob.name)
        raise RuntimeError("nope")

    watches = blob_watches(app, {})
    poller = BlobPoller(store, watches, invoke, tmp_path / "state")
    for _ in range(8):
        poller.poll_once()
    assert len(calls) == 5 and store.exists("poison/failing/a.csv.json")
    BlobPoller(store, watches, invoke, tmp_path / "state").poll_once()
    assert len(calls) == 5


def test_poison_records_are_not_themselves_blob_arrivals(app, tmp_path):
    store = LocalStore(tmp_path / "store")
    store.put("poison/incoming/a.csv.json", b"{}")
    calls = []
    BlobPoller(store, blob_watches(app, {"DURAPIPE_INCOMING_PREFIX": ""}), lambda fn, b: calls.append(b.name),
               tmp_path / "state").poll_once()
    assert calls == []


# ---------------------------------------------------------------- timers

def test_a_schedule_setting_is_resolved_from_the_environment(app):
    [schedule] = timer_schedules(app, {"SERVE_FIXTURE_SCHEDULE": "0 */5 * * * *"})
    assert schedule.expression == "0 */5 * * * *" and schedule.run_on_startup is False


def test_a_missing_schedule_setting_names_the_setting_and_the_function():
    with pytest.raises(UsageError, match="NOPE.*set NOPE"):
        resolve_settings("%NOPE%", {}, "The timer trigger 'tick'")


@pytest.mark.parametrize("expression", ["*/5 * * * *", "00:05:00", "61 * * * * *"])
def test_a_schedule_must_be_six_ncrontab_fields(expression):
    with pytest.raises(UsageError, match="six NCRONTAB fields"):
        check_schedule(expression, "The timer trigger 'tick'")


def test_the_seconds_field_comes_first():
    assert next_tick("30 0 3 * * *", 0.0) == 3 * 3600 + 30


def test_ticks_missed_while_down_fire_once_as_past_due(app, tmp_path):
    (tmp_path / "timers.json").write_text(json.dumps({"tick": time.time() - 60}))
    calls, enough = [], threading.Event()

    def invoke(fn, timer):
        calls.append((time.time(), timer.past_due))
        if len(calls) >= 3:
            enough.set()

    scheduler = TimerScheduler(timer_schedules(app, {"SERVE_FIXTURE_SCHEDULE": "* * * * * *"}), invoke, tmp_path)
    scheduler.start()
    try:
        assert enough.wait(10)
    finally:
        scheduler.stop()
    assert [past_due for _, past_due in calls[:3]] == [True, False, False]
