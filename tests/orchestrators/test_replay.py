"""Recorded histories of real runs replay against today's orchestrators with the same decisions.

Each file under histories/ is a journal written by the local host during a real run. Replaying
it through the SDK must schedule the same activities and sub-orchestrations in the same order
and finish with the same output: a change that would break in-flight runs on Azure fails here.
"""
import json
from pathlib import Path

import pytest

from durapipe.local.episode import build_context, run_episode
from orchestrators.pipeline_run import map_partitions, pipeline_run

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.jsonl"))
ORCHESTRATORS = {"pipeline_run": pipeline_run, "map_partitions": map_partitions}
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


def test_there_are_recorded_histories_to_replay():
    assert len(HISTORIES) >= 3


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
