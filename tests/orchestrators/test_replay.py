"""Recorded histories of real runs replay against today's orchestrators with the same decisions.

Each file under histories/ is a journal written by the local host during a real run. Replaying
it through the SDK must schedule the same activities and sub-orchestrations in the same order
and finish with the same output: a change that would break in-flight runs on Azure fails here.
"""
import json
from pathlib import Path

import pytest

from durapipe.model.contracts import step_state
from durapipe.host.episode import build_context, run_episode
from orchestrators.blob_arrival import blob_arrival
from orchestrators.pipeline_run import map_partitions, pipeline_run

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.jsonl"))
ORCHESTRATORS = {"pipeline_run": pipeline_run, "map_partitions": map_partitions, "blob_arrival": blob_arrival}
SCHEDULING_EVENTS = {4: "Name", 7: "Name", 10: None}  # TaskScheduled, SubOrchestrationCreated, TimerCreated
EXECUTION_STARTED, EXECUTION_COMPLETED = 0, 1


def _replay(path: Path):
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    started = next(e for e in events if e["EventType"] == EXECUTION_STARTED)
    completed = next((e for e in events if e["EventType"] == EXECUTION_COMPLETED), None)
    replayed = [e for e in events if e["EventType"] != EXECUTION_COMPLETED]
    texts = [json.dumps({**e, "IsPlayed": True}) for e in replayed]
    handle = ORCHESTRATORS[started["Name"]]._function.get_user_function()
    context = build_context(texts, started["Input"], "replay-" + path.stem, None, True)
    return events, completed, run_episode(handle, context)


def _spec(started):
    """The spec a history's run request carries: as JSON, or (started by today's CLI) as its text."""
    spec = json.loads(started["Input"])["spec"]
    return json.loads(spec) if isinstance(spec, str) else spec


def test_there_are_recorded_histories_to_replay():
    assert len(HISTORIES) >= 3
    assert any(isinstance(json.loads(json.loads(p.read_text().splitlines()[1])["Input"]).get("spec"), str)
               for p in HISTORIES), "no history of a run started with its spec as text"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
def test_replay_schedules_the_same_work_in_the_same_order(path):
    events, _, result = _replay(path)
    recorded = [e.get("Name") for e in events if e["EventType"] in SCHEDULING_EVENTS]
    replayed = [a.get("functionName") for a in result.leaves]
    assert replayed == recorded


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
def test_replay_finishes_with_the_recorded_output(path):
    _, completed, result = _replay(path)
    assert completed is not None
    assert result.done and result.error is None
    assert result.output == json.loads(completed["Result"])


RUN_HISTORIES = [p for p in HISTORIES if '"Name": "record_run"' in p.read_text()]


@pytest.mark.parametrize("path", RUN_HISTORIES, ids=lambda p: p.stem)
def test_replay_reports_each_steps_final_state_and_times_as_the_custom_status(path):
    events, _, result = _replay(path)
    recorded = next(e for e in events if e["EventType"] == 4 and e["Name"] == "record_run")
    record = json.loads(recorded["Input"])
    board = result.custom_status
    assert board["run_id"] == record["run_id"]
    assert list(board["steps"]) == [s["name"] for s in _spec(events[1])["steps"]]
    for name, shown in board["steps"].items():
        assert shown == {"state": step_state(record["states"][name]), **record["timing"].get(name, {})}, name


STEP_WORK = {(4, "run_step"), (7, "map_partitions")}  # a step as an activity, a mapped step as a child
STEP_DONE = (5, 8)  # TaskCompleted, SubOrchestrationInstanceCompleted


def _cuts(events):
    """Each prefix of `events` that ends an episode after steps started, as the host would hand it over."""
    for i, event in enumerate(events):
        if event["EventType"] == 12 and any((e["EventType"], e.get("Name")) in STEP_WORK for e in events[:i]):
            yield events[:i]


def _reused_at_planning(events):
    """The steps the history's plan reused: the names it does not give to run (before `steps`: those it carries)."""
    scheduled = next(e["EventId"] for e in events if e["EventType"] == 4 and e["Name"] == "plan_run")
    plan = json.loads(next(e["Result"] for e in events if e["EventType"] == 5 and e["TaskScheduledId"] == scheduled))
    if "steps" not in plan:
        return set(plan["reused"])
    return set(plan["order"]) - {s["name"] for s in plan["steps"]}


@pytest.mark.parametrize("path", [p for p in RUN_HISTORIES if '"Name": "run_step"' in p.read_text()],
                         ids=lambda p: p.stem)
def test_between_episodes_the_custom_status_shows_running_and_finished_steps(path):
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    started = events[1]
    handle = ORCHESTRATORS[started["Name"]]._function.get_user_function()
    spec_steps = [s["name"] for s in _spec(started)["steps"]]
    cuts = list(_cuts(events))
    assert cuts
    for prefix in cuts:
        scheduled = {e["EventId"]: json.loads(e["Input"])["step"]["name"] for e in prefix
                     if (e["EventType"], e.get("Name")) in STEP_WORK}
        finished = {scheduled[e["TaskScheduledId"]]: json.loads(e["Result"])["status"] for e in prefix
                    if e["EventType"] in STEP_DONE and e["TaskScheduledId"] in scheduled}
        reused = _reused_at_planning(prefix)
        texts = [json.dumps({**e, "IsPlayed": True}) for e in prefix]
        result = run_episode(handle, build_context(texts, started["Input"], "cut-" + path.stem, None, True))
        shown = {name: info["state"] for name, info in result.custom_status["steps"].items()}
        expected = {name: finished[name] if name in finished else "reused" if name in reused
                    else "running" if name in scheduled.values() else "waiting" for name in spec_steps}
        assert shown == expected


@pytest.mark.parametrize("path", RUN_HISTORIES, ids=lambda p: p.stem)
def test_the_recording_call_names_the_pipeline_and_version_instead_of_carrying_the_spec(path):
    events, _, result = _replay(path)
    spec = _spec(events[1])
    recorded = json.loads(next(e for e in events if e["EventType"] == 4 and e["Name"] == "record_run")["Input"])
    sent = json.loads(next(a for a in result.leaves if a.get("functionName") == "record_run")["input"])
    assert "spec" not in sent["request"]
    assert (sent["pipeline"], sent["pipeline_version"]) == (spec["name"], spec["version"])
    # Everything else is what the history's own recording call held (in today's words for step states).
    assert sent["states"] == {name: step_state(state) for name, state in recorded["states"].items()}
    assert {k: v for k, v in sent.items() if k not in ("pipeline", "pipeline_version", "request", "states")} \
        == {k: v for k, v in recorded.items() if k not in ("pipeline", "pipeline_version", "request", "states")}
    # The history's run request predates some fields, which its summary now holds as None.
    assert {k: v for k, v in sent["request"].items() if k in recorded["request"]} \
        == {k: v for k, v in recorded["request"].items() if k != "spec"}
    assert {v for k, v in sent["request"].items() if k not in recorded["request"]} <= {None}
