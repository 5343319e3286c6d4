"""`pipeline_run` driven through the SDK episode by episode: a step whose input could not be read runs again
once the step that made it has made it again, within the same run."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable

from durapipe.host import history as h
from durapipe.host.episode import build_context, run_episode
from durapipe.model.lost_input import lost_input_sentence
from orchestrators.pipeline_run import pipeline_run

HANDLE = pipeline_run._function.get_user_function()
RUN = "rw1"


def _step(name: str, **inputs: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "ref": f"flow:{name}", "inputs": inputs, "outputs": ["out"], "params": {},
            "options": {"retries": 0, "timeout": None, "cache": True, "compute": "local"}, "map": None}


# raw (a run input) -> a -> b -> c
A, B, C = _step("a", raw={"input": "raw"}), _step("b", src={"step": "a", "output": "out"}), \
    _step("c", src={"step": "b", "output": "out"})
SPEC = {"schema": 1, "name": "p", "version": None, "inputs": {"raw": {}}, "params": {}, "steps": [A, B, C]}
REQUEST = {"schema": 1, "run_id": RUN, "spec": SPEC, "params": {}, "inputs": {}, "code_root": None, "force": ["c"],
           "max_parallel": None, "trigger": {"kind": "cli"}, "started": None, "register": None, "deliver": {}}
RAW = {"hash": "0" * 64, "kind": "file", "size": 3}


def _ref(name: str, made: int = 0) -> dict[str, Any]:
    return {"hash": (name * 64)[:63] + str(made), "kind": "file", "size": 3}


def _result(name: str, status: str, made: int = 0) -> dict[str, Any]:
    return {"step": name, "status": status, "fingerprint": name * 64, "outputs": {"out": _ref(name, made)},
            "duration_s": 0.0}


def _lost(name: str, ref: dict[str, Any]) -> str:
    return lost_input_sentence(name, ref["hash"], f"The stored artifact {ref['hash']} is corrupt; it was moved to "
                                                  f"quarantine/artifacts/{ref['hash']}.")


class Answers:
    """Answers each activity call in turn and keeps what was called, with what input."""

    def __init__(self, answer: Callable[[str, Any, int], Any]) -> None:
        self.answer, self.calls = answer, []

    def __call__(self, name: str, value: Any) -> Any:
        self.calls.append((name, value))
        return self.answer(name, value, sum(1 for n, _ in self.calls if n == name) - 1)


def _drive(answers: Answers) -> Any:
    """Run pipeline_run to its end; an answer that is an Exception fails its activity with its message."""
    clock = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    input_text = json.dumps(REQUEST)
    events = [h.orchestrator_started(h.format_time(clock)),
              h.execution_started(h.format_time(clock), "pipeline_run", input_text, RUN)]
    seen, next_id = 0, 0
    for _ in range(50):
        texts = [json.dumps({**e, "IsPlayed": True}) for e in events]
        result = run_episode(HANDLE, build_context(texts, input_text, RUN, None, True))
        events.append(h.orchestrator_completed(h.format_time(clock)))
        leaves, seen = result.leaves[seen:], len(result.leaves)
        if result.done or result.failed:
            return result
        clock += dt.timedelta(seconds=1)
        events.append(h.orchestrator_started(h.format_time(clock)))
        scheduled = []
        for leaf in leaves:
            events.append(h.task_scheduled(h.format_time(clock), next_id, leaf["functionName"], leaf["input"]))
            scheduled.append((next_id, leaf))
            next_id += 1
        for task_id, leaf in scheduled:
            value = answers(leaf["functionName"], json.loads(leaf["input"]))
            if isinstance(value, Exception):
                events.append(h.task_failed(h.format_time(clock), task_id, str(value), "details"))
            else:
                events.append(h.task_completed(h.format_time(clock), task_id, json.dumps(value)))
    raise AssertionError("the orchestration did not end")


def _plan(reused: list[str], first: bool = False) -> dict[str, Any]:
    """A plan result: the named steps reused, the others to run. The first plan of a run carries only the
    reused steps a step to run reads (the run record holds the others); a plan made again carries them all."""
    to_run = [s for s in (A, B, C) if s["name"] not in reused]
    read = {b["step"] for s in to_run for b in s["inputs"].values() if "step" in b}
    return {"inputs": {"raw": RAW}, "reused": {n: _result(n, "reused") for n in reused if not first or n in read},
            "pipeline": "p", "version": None, "order": ["a", "b", "c"], "steps": to_run,
            **({"reused_in_record": True} if first else {})}


def _ran(task: dict[str, Any], made: int = 1) -> dict[str, Any]:
    return _result(task["step"]["name"], "ran", made)


def test_a_step_whose_input_is_lost_runs_again_after_the_reused_step_that_made_it_made_it_again():
    def answer(name: str, value: Any, nth: int) -> Any:
        if name == "plan_run":
            # Planned again, the reused step b's output is gone: b runs, reading a (reused, carried now).
            return _plan(["a", "b"], first=True) if nth == 0 else _plan(["a"])
        if name == "run_step" and value["step"]["name"] == "c" and value["inputs"]["src"] == _ref("b"):
            return Exception(_lost("src", value["inputs"]["src"]))
        if name == "run_step":
            return _ran(value)
        return {"status": value["status"], "states": value["states"]}

    answers = Answers(answer)
    result = _drive(answers)
    assert result.done and result.error is None, result.error
    assert [(n, v["step"]["name"]) if n == "run_step" else n for n, v in answers.calls] == [
        "plan_run", ("run_step", "c"), "plan_run", ("run_step", "b"), ("run_step", "c"), "record_run"]
    assert answers.calls[2][1] == answers.calls[0][1]  # the same request, the same instance
    b_task, c_task = answers.calls[3][1], answers.calls[4][1]
    assert b_task["inputs"] == {"src": _ref("a")} and b_task["force"] is True
    assert c_task["inputs"] == {"src": _ref("b", 1)} and c_task["force"] is True
    assert result.output == {"status": "completed", "states": {"a": "reused", "b": "ran", "c": "ran"}}


def test_a_lost_input_made_again_from_further_up_when_the_producers_own_input_is_lost_too():
    def answer(name: str, value: Any, nth: int) -> Any:
        if name == "plan_run":
            return _plan(["a", "b"], first=True) if nth == 0 else _plan(["a"])
        step, src = value.get("step", {}).get("name"), value.get("inputs", {}).get("src")
        if name == "run_step" and step in ("b", "c") and src in (_ref("a"), _ref("b")):
            return Exception(_lost("src", src))
        if name == "run_step":
            return _ran(value)
        return {"status": value["status"], "states": value["states"]}

    answers = Answers(answer)
    result = _drive(answers)
    assert result.done and result.error is None, result.error
    assert [(n, v["step"]["name"]) if n == "run_step" else n for n, v in answers.calls] == [
        "plan_run", ("run_step", "c"), "plan_run", ("run_step", "b"), ("run_step", "a"), ("run_step", "b"),
        ("run_step", "c"), "record_run"]  # a's spec is the run's, its input the run's: no third plan
    assert result.output["states"] == {"a": "ran", "b": "ran", "c": "ran"}


def test_planning_again_finds_the_producers_own_input_gone_and_both_run_again_before_the_step():
    def answer(name: str, value: Any, nth: int) -> Any:
        if name == "plan_run":
            return _plan(["a", "b"], first=True) if nth == 0 else _plan([])  # a's output is gone as well
        if name == "run_step" and value["step"]["name"] == "c" and value["inputs"]["src"] == _ref("b"):
            return Exception(_lost("src", value["inputs"]["src"]))
        if name == "run_step":
            return _ran(value)
        return {"status": value["status"], "states": value["states"]}

    answers = Answers(answer)
    result = _drive(answers)
    assert result.done and result.error is None, result.error
    assert [(n, v["step"]["name"]) if n == "run_step" else n for n, v in answers.calls] == [
        "plan_run", ("run_step", "c"), "plan_run", ("run_step", "a"), ("run_step", "b"), ("run_step", "c"),
        "record_run"]
    assert [v["force"] for n, v in answers.calls if n == "run_step"] == [True, False, True, True]
    assert answers.calls[4][1]["inputs"] == {"src": _ref("a", 1)}


def test_a_lost_input_of_the_run_fails_the_step_with_a_sentence_naming_it_and_plans_nothing_again():
    def answer(name: str, value: Any, nth: int) -> Any:
        if name == "plan_run":
            return _plan([], first=True)
        if name == "run_step" and value["step"]["name"] == "a":
            return Exception(_lost("raw", RAW))
        return {"status": value["status"], "states": value["states"]}

    answers = Answers(answer)
    result = _drive(answers)
    assert result.failed
    assert [n for n, _ in answers.calls] == ["plan_run", "run_step", "record_run"]
    error = answers.calls[-1][1]["errors"]["a"]
    assert error.startswith(_lost("raw", RAW)) and error.endswith(
        "It is the input 'raw' of the run, which no step makes, so this run cannot make it again: give it again.")


def test_an_input_lost_again_after_it_was_made_again_fails_the_step_once_and_for_all():
    def answer(name: str, value: Any, nth: int) -> Any:
        if name == "plan_run":
            return _plan(["a", "b"], first=True) if nth == 0 else _plan(["a"])
        if name == "run_step" and value["step"]["name"] == "c":
            return Exception(_lost("src", value["inputs"]["src"]))
        if name == "run_step":
            return _ran(value, made=0)  # makes the same bytes again, which are lost again
        return {"status": value["status"], "states": value["states"], "errors": value["errors"]}

    answers = Answers(answer)
    result = _drive(answers)
    assert result.failed
    assert [(n, v["step"]["name"]) if n == "run_step" else n for n, v in answers.calls] == [
        "plan_run", ("run_step", "c"), "plan_run", ("run_step", "b"), ("run_step", "c"), "record_run"]
    assert answers.calls[-1][1]["errors"]["c"].endswith(
        "Step b made it again in this run, and it could not be read again.")
    assert "step c failed: Its input 'src'" in result.error
