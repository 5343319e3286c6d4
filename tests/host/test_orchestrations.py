"""Orchestrators run to the same results as on Azure, through the SDK's replay protocol."""
import time
from pathlib import Path

from durapipe.host.sdk_compat import EventType


def run(host, name, input=None, timeout=30):
    return host.wait(host.start_new(name, input=input), timeout=timeout)


def test_fan_out_fan_in_sums_every_activity(host):
    assert run(host, "fan_out_in", {"n": 10})["output"] == 90


def test_task_any_returns_the_first_to_finish(host, tmp_path):
    assert run(host, "first_of", {"dir": str(tmp_path)})["output"] == "fast"


def test_str_custom_object_and_renamed_activity_round_trip(host):
    assert run(host, "round_trips")["output"] == {
        "text": "hello world (str)", "point": [2, 3], "renamed": "renamed 7"}


def test_activity_failure_reaches_the_orchestrator_as_an_exception(host):
    output = run(host, "caught_failure")["output"]
    assert output.startswith("caught: boom") and "ValueError" in output


def test_uncaught_failure_fails_the_orchestration(host):
    status = run(host, "uncaught_failure")
    assert status["runtimeStatus"] == "Failed" and "kaput" in status["output"]


def test_retry_runs_until_success_with_backoff_timers(host, tmp_path):
    status = run(host, "with_retry", {"dir": str(tmp_path), "fail_times": 2})
    assert status["output"] == [2, 3, 4]
    history = host.get_status(status["instanceId"], show_history=True)["history"]
    assert sum(e["EventType"] == EventType.TIMER_FIRED for e in history) == 2


def test_retry_gives_up_after_max_attempts(host, tmp_path):
    status = run(host, "with_retry", {"dir": str(tmp_path), "fail_times": 5})
    assert status["runtimeStatus"] == "Failed" and "attempt 3 failed" in status["output"]
    assert len(list(tmp_path.glob("attempt-*"))) == 3


def test_durable_timer_fires_after_its_time(host):
    assert run(host, "with_timer")["output"] >= 0.3


def test_external_event_resumes_the_orchestration(host):
    instance_id = host.start_new("approval")
    host.raise_event(instance_id, "approval", "yes")
    assert host.wait(instance_id, timeout=10)["output"] == {"approved": "yes"}


def test_sub_orchestration_result_comes_back_to_the_parent(host):
    assert run(host, "parent")["output"] == {"child_total": 6}


def test_continue_as_new_restarts_with_the_new_input(host):
    status = run(host, "countdown", 3)
    assert status["output"] == "lift-off" and status["input"] == 0


def test_custom_status_is_reported(host):
    assert run(host, "with_status")["customStatus"] == {"stage": "done"}


def test_dead_activity_process_fails_only_its_task(host):
    output = run(host, "crash_then_work")["output"]
    assert "the activity process died (exit code 1)" in output["crashed"]
    assert output["after"] == 42


def test_starting_an_unfinished_id_again_returns_the_same_instance(host):
    first = host.start_new("approval", instance_id="approval-once")
    assert host.start_new("approval", instance_id="approval-once") == first
    host.terminate(first, "done testing")
    assert host.wait(first, timeout=10)["runtimeStatus"] == "Terminated"


def test_activities_run_in_parallel(host, tmp_path):
    run(host, "parallel_pair", {"dir": str(tmp_path)})
    (a_start, a_end), (b_start, b_end) = (
        map(float, (tmp_path / f"{n}.txt").read_text().split()) for n in ("a", "b"))
    assert a_start < b_end and b_start < a_end


def test_completions_that_arrive_together_are_delivered_in_one_episode(host, tmp_path):
    gate = tmp_path / "gate"
    instance_id = host.start_new("gated_fan_out", input={"gate": str(gate), "n": 20})
    while len(host.get_status(instance_id, show_history=True)["history"]) < 23:
        time.sleep(0.01)  # first episode: started + 20 scheduled + completed
    with host.hold():
        gate.write_text("")
        while host.pending_events(instance_id) < 20:
            time.sleep(0.01)
    assert host.wait(instance_id, timeout=30)["output"] == sum(range(20))
    # One episode to schedule the 20 activities, one to take all 20 results.
    assert host.episode_count(instance_id) == 2


def test_the_journal_rewrites_an_instance_status_when_it_changes_not_every_episode(host, monkeypatch, tmp_path):
    written = []
    real = type(host.journal).write_meta

    def spy(journal, instance_id, meta):
        written.append((instance_id, meta["runtimeStatus"]))
        real(journal, instance_id, meta)

    monkeypatch.setattr(type(host.journal), "write_meta", spy)
    job = {"path": str(tmp_path / "lines.txt"), "n": 6, "sleep": 0}
    status = run(host, "sequential_lines", job)  # one episode per activity
    instance_id = status["instanceId"]
    assert status["runtimeStatus"] == "Completed"
    assert [s for i, s in written if i == instance_id] == ["Pending", "Running", "Completed"]
    assert host.journal.read_meta(instance_id)["output"] == status["output"]
