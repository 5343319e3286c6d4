"""The remote_step orchestrator, driven through the SDK episode by episode: backoff, bounded history, collect."""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Callable

from durapipe.model.timing import MAX_POLL_S, POLLS_PER_HISTORY, poll_delay
from durapipe.host import history as h
from durapipe.host.episode import build_context, run_episode
from durapipe.host.sdk_compat import ActionType
from orchestrators.pipeline_run import remote_step

HANDLE = remote_step._function.get_user_function()
TASK = {"schema": 1, "run_id": "r1", "pipeline": "p", "step": {"name": "train"}, "params": {}, "code_root": None,
        "inputs": {}, "force": False}
SUBMITTED = {"status": "submitted", "compute": "ray:http://127.0.0.1:8265", "job_id": "j1", "job_name": "j1",
             "fingerprint": "f" * 64, "started": "2026-01-01T00:00:00+00:00"}
RESULT = {"step": "train", "status": "ran", "fingerprint": "f" * 64, "outputs": {}, "components": None,
          "duration_s": 1.0}


def _generation(input_obj: dict[str, Any], answer: Callable[[str, Any], Any]) -> dict[str, Any]:
    """Run one execution of remote_step to its end or its continue-as-new, answering each activity with `answer`."""
    clock = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    input_text = json.dumps(input_obj)
    events = [h.orchestrator_started(h.format_time(clock)), h.execution_started(h.format_time(clock), "remote_step",
                                                                                input_text, "r1.train", "r1")]
    seen, next_id, activities, timers = 0, 0, [], []
    while True:
        texts = [json.dumps({**e, "IsPlayed": True}) for e in events]
        result = run_episode(HANDLE, build_context(texts, input_text, "r1.train", "r1", True))
        assert not result.failed, result.error
        events.append(h.orchestrator_completed(h.format_time(clock)))
        leaves, seen = result.leaves[seen:], len(result.leaves)
        again = next((leaf for leaf in leaves if leaf["actionType"] == ActionType.CONTINUE_AS_NEW), None)
        if result.done or again is not None:
            return {"events": events, "output": result.output, "activities": activities, "timers": timers,
                    "continued": json.loads(again["input"]) if again else None}
        events.append(h.orchestrator_started(h.format_time(clock)))
        for leaf in leaves:
            if leaf["actionType"] == ActionType.CREATE_TIMER:
                fire_at = leaf["fireAt"]
                timers.append((h.parse_time(fire_at) - clock).total_seconds())
                events.append(h.timer_created(h.format_time(clock), next_id, fire_at))
                clock = h.parse_time(fire_at)
                events.append(h.timer_fired(h.format_time(clock), next_id, fire_at))
            else:
                name, value = leaf["functionName"], json.loads(leaf["input"])
                activities.append(name)
                events.append(h.task_scheduled(h.format_time(clock), next_id, name, leaf["input"]))
                events.append(h.task_completed(h.format_time(clock), next_id, json.dumps(answer(name, value))))
            next_id += 1


def _never_done(name: str, value: Any) -> Any:
    return SUBMITTED if name == "submit_step" else {"done": False, "status": "running"}


def test_polls_back_off_from_one_second_to_the_cap():
    assert [poll_delay(n) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert poll_delay(40) == MAX_POLL_S


def test_a_job_that_stays_running_continues_as_new_after_a_bounded_history():
    first = _generation({"task": TASK}, _never_done)
    assert first["activities"] == ["submit_step"] + ["poll_step"] * POLLS_PER_HISTORY
    assert first["timers"] == [poll_delay(n) for n in range(POLLS_PER_HISTORY)]
    continued = first["continued"]
    assert {**continued, "task": {k: v for k, v in continued["task"].items() if k != "attempt"}} == {
        "task": TASK, "submitted": SUBMITTED, "polls": POLLS_PER_HISTORY}
    assert re.fullmatch(r"[0-9a-f]{8}", continued["task"]["attempt"])  # the job's name has it, a restart another
    assert len(first["events"]) <= 50


def test_a_job_of_hours_keeps_every_history_to_a_few_dozen_events():
    state: dict[str, Any] = {"task": TASK}
    waited, sizes = 0.0, []
    while waited < 6 * 3600:  # six hours of polling
        generation = _generation(state, _never_done)
        waited += sum(generation["timers"])
        sizes.append(len(generation["events"]))
        state = generation["continued"]
    assert max(sizes) <= 50
    assert "submit_step" not in _generation(state, _never_done)["activities"]  # submitted once, not again


def test_a_finished_job_is_collected_and_its_result_returned():
    def answers(name: str, value: Any) -> Any:
        return {"submit_step": SUBMITTED, "poll_step": {"done": True, "status": "succeeded"},
                "collect_step": RESULT}[name]

    done = _generation({"task": TASK}, answers)
    assert done["activities"] == ["submit_step", "poll_step", "collect_step"]
    assert done["output"] == RESULT


def test_a_reused_step_is_not_polled():
    reused = {"status": "reused", "result": {**RESULT, "status": "reused"}}
    done = _generation({"task": TASK}, lambda name, value: reused)
    assert done["activities"] == ["submit_step"] and done["timers"] == []
    assert done["output"]["status"] == "reused"
