"""Starting and stopping `durapipe serve`: signals, the function key, configuration errors, restarts."""
import signal
import stat
import subprocess
import sys
import time

import pytest

from durapipe.store.local import LocalStore
from tests.host.serve.conftest import FIXTURE_APP, POLL_INTERVAL_S, call, serve_env, start_serve, wait_for


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_server_cleanly_with_exit_0(tmp_path, sig):
    served = start_serve(tmp_path, str(tmp_path / "store"))
    assert served.stop(sig) == 0
    assert served.process.stdout.read().strip().endswith("durapipe serve: stopped")
    with pytest.raises(OSError):
        call("GET", f"{served.base_url}/api/echo?code={served.key}")


def test_the_key_is_made_once_kept_private_and_reused(tmp_path):
    first = start_serve(tmp_path, str(tmp_path / "store"))
    assert first.stop() == 0
    key_file = first.home / "host" / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = start_serve(tmp_path, str(tmp_path / "store"))
    try:
        assert second.key == first.key and len(first.key) >= 32
    finally:
        assert second.stop() == 0


def test_the_key_can_come_from_the_environment(tmp_path):
    key = "given-key-0123456789abcdef"
    served = start_serve(tmp_path, str(tmp_path / "store"), serve_env(tmp_path, DURAPIPE_FUNCTION_KEY=key))
    try:
        assert served.key == key
        assert call("GET", f"{served.base_url}/api/echo", headers={"x-functions-key": key})[0] == 201
    finally:
        assert served.stop() == 0
    assert not (served.home / "host" / "keys.json").exists()


def test_a_missing_schedule_setting_disables_that_timer_with_one_warning_and_the_rest_serves(tmp_path):
    env = serve_env(tmp_path)
    del env["SERVE_FIXTURE_SCHEDULE"]
    served = start_serve(tmp_path, str(tmp_path / "store"), env=env)
    try:
        status, _, _ = call("GET", f"{served.base_url}/api/echo?code={served.key}")
        assert status == 201  # the fixture's echo route answers 201
        assert not any("timerTrigger" in line for line in served.banner)
    finally:
        assert served.stop() == 0
    warnings = [line for line in (tmp_path / "serve.err").read_text().splitlines() if "is disabled" in line]
    assert len(warnings) == 1 and "SERVE_FIXTURE_SCHEDULE" in warnings[0]


def test_a_blob_handled_before_a_restart_is_not_invoked_again(tmp_path):
    store = LocalStore(tmp_path / "store")
    store.put("incoming/before.csv", b"1")
    first = start_serve(tmp_path, str(tmp_path / "store"))
    try:
        wait_for(lambda: first.recorded("blobs"))
    finally:
        assert first.stop() == 0
    second = start_serve(tmp_path, str(tmp_path / "store"))
    try:
        time.sleep(10 * POLL_INTERVAL_S)
        assert [r["name"] for r in second.recorded("blobs")] == ["durapipe/incoming/before.csv"]
    finally:
        assert second.stop() == 0


def test_an_unfinished_run_resumes_when_the_server_starts(tmp_path):
    from durapipe.host.app_loader import load_app
    from durapipe.host.local_host import LocalHost
    from tests.host.serve.conftest import FIXTURE_SCRIPT

    host = LocalHost(load_app(FIXTURE_APP, FIXTURE_SCRIPT), tmp_path / "home" / "host", max_parallel=1).start()
    with host.hold():  # journaled, never run: as if the process died right after the start
        host.start_new("greet", "left-behind", {"name": "again"})
        host.stop()
    served = start_serve(tmp_path, str(tmp_path / "store"))
    try:
        assert any("left-behind" in line for line in served.banner)
        url = f"{served.base_url}/runtime/webhooks/durabletask/instances/left-behind?code={served.system_key}"
        state = wait_for(lambda: (s := call("GET", url)[2])["runtimeStatus"] == "Completed" and s, timeout=60)
        assert state["output"] == "hello again"
    finally:
        assert served.stop() == 0


def test_a_run_a_server_started_is_left_by_a_server_of_another_store_and_resumed_on_its_own(tmp_path):
    from durapipe.host.app_loader import load_app
    from durapipe.host.local_host import LocalHost
    from durapipe.store.local import LocalStore
    from tests.host.serve.conftest import FIXTURE_SCRIPT

    assert start_serve(tmp_path, str(tmp_path / "a")).stop() == 0  # a serve of store a
    host = LocalHost(load_app(FIXTURE_APP, FIXTURE_SCRIPT), tmp_path / "home" / "host", max_parallel=1).start()
    with host.hold():  # started by that serve, journaled, never run: as if it was killed right after the start
        host.start_new("greet", "started-on-a", {"name": "a"})
        host.stop()

    on_b = start_serve(tmp_path, str(tmp_path / "b"))
    assert on_b.stop() == 0
    assert not any(line.startswith("resumed") for line in on_b.banner), on_b.banner
    assert f"left run started-on-a for `durapipe resume`: it ran on store {LocalStore(tmp_path / 'a').url}" \
        in on_b.banner, on_b.banner

    on_a = start_serve(tmp_path, str(tmp_path / "a"))
    try:
        assert any(line.startswith("resumed") and "started-on-a" in line for line in on_a.banner), on_a.banner
        url = f"{on_a.base_url}/runtime/webhooks/durabletask/instances/started-on-a?code={on_a.system_key}"
        state = wait_for(lambda: (s := call("GET", url)[2])["runtimeStatus"] == "Completed" and s, timeout=60)
        assert state["output"] == "hello a"
    finally:
        assert on_a.stop() == 0


def test_a_second_server_on_the_same_state_folder_refuses_to_start(tmp_path):
    first = start_serve(tmp_path, str(tmp_path / "store"))
    try:
        done = subprocess.run([sys.executable, "-m", "durapipe.cli", "serve", "--port", "0", "--script-root",
                               str(FIXTURE_APP), "--store", str(tmp_path / "store")],
                              env=serve_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert f"pid {first.process.pid}" in done.stderr and "DURAPIPE_HOME" in done.stderr
        assert "Traceback" not in done.stderr
        assert call("GET", f"{first.base_url}/api/echo?code={first.key}")[0] == 201
    finally:
        assert first.stop() == 0


def test_a_server_does_not_resume_a_run_another_live_host_drives(tmp_path):
    from durapipe.host.app_loader import load_app
    from durapipe.host.local_host import LocalHost
    from tests.host.serve.conftest import FIXTURE_SCRIPT

    host = LocalHost(load_app(FIXTURE_APP, FIXTURE_SCRIPT), tmp_path / "home" / "host", max_parallel=1).start()
    try:
        with host.hold():  # journaled and claimed by this live host, not yet run
            host.start_new("greet", "still-mine", {"name": "held"})
            served = start_serve(tmp_path, str(tmp_path / "store"))
            try:
                assert not any("still-mine" in line for line in served.banner)
            finally:
                assert served.stop() == 0
    finally:
        host.stop()


def test_the_banner_names_the_watched_blob_triggers_and_says_one_added_later_needs_a_restart(tmp_path):
    served = start_serve(tmp_path, str(tmp_path / "store"))
    assert served.stop() == 0
    watched = sorted(line.strip().split(",")[0] for line in served.banner if "blobTrigger" in line)
    assert watched == ["always_fails: blobTrigger durapipe/failing/{name}",
                       "score_arrived_blob: blobTrigger durapipe/incoming/{name}"]
    notes = [line for line in served.banner if "restart" in line]
    assert len(notes) == 1 and "blob trigger" in notes[0] and "added" in notes[0], served.banner
    assert notes[0].endswith(".")
