"""What `pipeline_run` hands planning: the instance that drives the run, from its context alone."""
import json
from pathlib import Path

from durapipe.host.episode import build_context, run_episode
from orchestrators.pipeline_run import pipeline_run

HISTORY = Path(__file__).parent / "histories" / "retrain_cold.jsonl"


def _planning_input(instance_id: str, forged: dict | None = None) -> tuple[dict, str]:
    """The planning call's input in the first episode of the history's run, started as `instance_id`."""
    events = [json.loads(line) for line in HISTORY.read_text().splitlines()[:2]]  # OrchestratorStarted, ExecutionStarted
    run_input = json.loads(events[1]["Input"])
    if forged is not None:
        run_input["instance"] = forged
    events[1]["Input"] = json.dumps(run_input)
    texts = [json.dumps(e) for e in events]
    handle = pipeline_run._function.get_user_function()
    result = run_episode(handle, build_context(texts, events[1]["Input"], instance_id, None, True))
    sent = next(a for a in result.leaves if a.get("functionName") == "plan_run")
    return json.loads(sent["input"]), events[0]["Timestamp"]


def test_planning_is_told_the_instance_id_and_when_this_execution_started():
    sent, started = _planning_input("inst-a")
    assert sent["instance"]["id"] == "inst-a"
    assert sent["instance"]["started"].startswith(started[:19])


def test_an_instance_named_in_the_input_is_replaced_by_the_contexts():
    sent, _ = _planning_input("inst-b", forged={"id": "someone-else", "started": "2020-01-01T00:00:00+00:00"})
    assert sent["instance"]["id"] == "inst-b" and sent["instance"]["started"] != "2020-01-01T00:00:00+00:00"


def test_the_instance_is_the_same_in_every_replay():
    assert _planning_input("inst-c")[0]["instance"] == _planning_input("inst-c")[0]["instance"]


def _after_planning(plan: dict):
    """The first episodes of the history's run, with planning answering `plan`."""
    lines = HISTORY.read_text().splitlines()
    events = [json.loads(line) for line in lines[:6]]  # started, planning scheduled, episode, planning completed
    assert events[2]["Name"] == "plan_run" and events[5]["EventType"] == 5
    events[5]["Result"] = json.dumps(plan)
    handle = pipeline_run._function.get_user_function()
    return run_episode(handle, build_context([json.dumps(e) for e in events], events[1]["Input"], "inst-f", None,
                                             True))


def test_a_run_that_failed_for_good_while_planning_fails_with_the_final_mark_and_runs_nothing():
    from durapipe.model.statuses import failure_reason, is_final_failure

    sentence = "Step upper is mapped over 'part', which must be a folder, but it is a single file."
    result = _after_planning({"failed": sentence, "final": True})
    assert result.error is not None and is_final_failure(str(result.error))
    assert failure_reason(str(result.error)) == sentence
    assert not [a for a in result.leaves if a.get("functionName") not in (None, "plan_run")]


def test_a_run_whose_planning_may_succeed_later_fails_without_the_final_mark():
    from durapipe.model.statuses import is_final_failure

    result = _after_planning({"failed": "The input 'data' names the blob 'x', which has changed.", "final": False})
    assert result.error is not None and not is_final_failure(str(result.error))
