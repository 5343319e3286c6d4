"""The step engine runs steps through the executor: several at once on threads of one process, as on Azure."""
from __future__ import annotations

import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from textwrap import dedent
from typing import Any, Iterator

import pytest

from durapipe.engine.run_step import StepFailed, run_step
from durapipe.model.timing import REPORT_MARGIN_S
from durapipe.load.targets import load_target
from durapipe.store.records import write_run_record
from durapipe.store.artifacts import read_artifact_bytes
from durapipe.store.local import LocalStore

FLOW = dedent('''\
    import time
    from durapipe import Output, pipeline, step

    @step
    def speaks(out: Output, word: str = "x"):
        for _ in range(100):
            print(word, flush=True)
            time.sleep(0.002)
        out.write_text(word)

    @step
    def waits(out: Output):
        time.sleep(30)

    @pipeline
    def talk(word: str = "a"):
        speaks(word=word)
        waits()
    ''')


@pytest.fixture
def flow(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A project with one pipeline, its spec as JSON, and a local store."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'talk'\n")
    module = f"talk_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(FLOW)
    spec = load_target(f"{root / module}.py:talk").spec.to_json()
    yield {"root": root, "spec": spec, "store": LocalStore(tmp_path / "store")}
    sys.modules.pop(module, None)


def _task(flow: dict[str, Any], step: str, word: str, run_id: str = "r1") -> dict[str, Any]:
    spec_step = next(s for s in flow["spec"]["steps"] if s["name"] == step)
    return {"schema": 1, "run_id": run_id, "pipeline": "talk", "step": spec_step, "params": {"word": word},
            "code_root": str(flow["root"]), "inputs": {}, "force": False}


def test_steps_run_by_activities_on_threads_of_one_process_keep_separate_logs(flow):
    words = [f"w{i}" for i in range(5)]
    results: dict[str, Any] = {}
    threads = [threading.Thread(target=lambda w=w: results.__setitem__(w, run_step(flow["store"], _task(flow, "speaks", w))))
               for w in words]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for word in words:
        log = read_artifact_bytes(flow["store"], results[word]["log"]).decode()
        assert log.split() == [word] * 100


def test_a_step_of_a_canceled_run_is_stopped(flow):
    write_run_record(flow["store"], {"schema": 1, "run_id": "r2", "pipeline": "talk", "status": "running",
                                     "steps": {}, "outputs": {}})
    threading.Timer(0.5, lambda: write_run_record(
        flow["store"], {"schema": 1, "run_id": "r2", "pipeline": "talk", "status": "canceled",
                        "steps": {}, "outputs": {}})).start()
    with pytest.raises(StepFailed, match="the run was canceled, so the step was stopped"):
        run_step(flow["store"], _task(flow, "waits", "a", run_id="r2"))


def test_no_step_of_a_canceled_run_starts(flow):
    write_run_record(flow["store"], {"schema": 1, "run_id": "r3", "pipeline": "talk", "status": "canceled",
                                     "steps": {}, "outputs": {}})
    with pytest.raises(StepFailed, match="the run was canceled before the step started"):
        run_step(flow["store"], _task(flow, "speaks", "a", run_id="r3"))


def _timed(flow: dict[str, Any], run_id: str, timeout: float, deadline_in_s: float) -> dict[str, Any]:
    """A task of `waits` with a timeout, scheduled so that the orchestrator gives up `deadline_in_s` from now."""
    task = _task(flow, "waits", "x", run_id)
    task["step"] = {**task["step"], "options": {**task["step"]["options"], "timeout": timeout}}
    deadline = datetime.now(timezone.utc) + timedelta(seconds=deadline_in_s)
    return {**task, "deadline": deadline.isoformat()}


def test_a_step_that_waited_for_a_worker_is_killed_before_the_orchestrator_gives_up_and_keeps_its_log(flow):
    begun = time.monotonic()
    with pytest.raises(StepFailed, match=r"timed out after 30 seconds, counted from when the run scheduled it, "
                                         r"and was killed \(log artifact [0-9a-f]{12}\)"):
        run_step(flow["store"], _timed(flow, "r5", 30, REPORT_MARGIN_S + 1.5))
    assert time.monotonic() - begun < 15


def test_a_step_whose_deadline_passed_while_it_was_queued_does_not_start(flow):
    with pytest.raises(StepFailed, match="timed out after 30 seconds, counted from when the run scheduled it, "
                                         "before a worker could start it"):
        run_step(flow["store"], _timed(flow, "r6", 30, REPORT_MARGIN_S - 1))
