"""One fingerprint is computed once at a time across every process on a store: the others wait for its commit."""
from __future__ import annotations

import sys
import threading
import time
import uuid
from pathlib import Path
from textwrap import dedent
from typing import Any, Iterator

import pytest

from durapipe.engine.run_step import StepFailed, run_step
from durapipe.load.targets import load_target
from durapipe.model.timing import LEASE_S
from durapipe.store.base import Store
from durapipe.store.leases import Lease, acquire, read_lease
from durapipe.store.records import write_run_record

RACERS = 8

FLOW = dedent('''\
    import time
    from durapipe import Output, pipeline, step

    EXECUTIONS = {executions!r}

    @step
    def slow(out: Output, word: str = "x"):
        with open(EXECUTIONS, "a") as log:
            log.write(word + "\\n")
        time.sleep(0.5)
        out.write_text(word)

    @step
    def fails_once(out: Output):
        with open(EXECUTIONS, "a") as log:
            log.write("fails_once\\n")
        time.sleep(0.3)
        if open(EXECUTIONS).read().count("fails_once") == 1:
            raise RuntimeError("the first execution fails")
        out.write_text("ok")

    @pipeline
    def racing(word: str = "a"):
        slow(word=word)
        fails_once()
    ''')


@pytest.fixture
def flow(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A project whose steps append a line to `executions` each time their body runs."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'racing'\n")
    executions = tmp_path / "executions.txt"
    executions.touch()
    module = f"racing_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(FLOW.format(executions=str(executions)))
    spec = load_target(f"{root / module}.py:racing").spec.to_json()
    yield {"root": root, "spec": spec, "executions": executions}
    sys.modules.pop(module, None)


def _task(flow: dict[str, Any], step: str, run_id: str, **extra: Any) -> dict[str, Any]:
    spec_step = next(s for s in flow["spec"]["steps"] if s["name"] == step)
    params = {"word": "w"} if step == "slow" else {}
    return {"schema": 1, "run_id": run_id, "pipeline": "racing", "step": spec_step, "params": params,
            "code_root": str(flow["root"]), "inputs": {}, "force": False, **extra}


def _race(store: Store, tasks: list[dict[str, Any]]) -> list[Any]:
    """Run every task at once, each on a thread of its own, as concurrent runs' activities do; their results or errors."""
    outcomes: list[Any] = [None] * len(tasks)
    start = threading.Barrier(len(tasks))

    def one(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = run_step(store, tasks[i])
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcomes[i] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_runs_of_one_step_execute_it_once_and_all_report_its_outputs(store: Store, flow) -> None:
    outcomes = _race(store, [_task(flow, "slow", f"r{i}") for i in range(RACERS)])
    assert flow["executions"].read_text().splitlines() == ["w"]
    assert sorted(o["status"] for o in outcomes) == ["ran"] + ["reused"] * (RACERS - 1)
    assert len({o["fingerprint"] for o in outcomes}) == 1
    assert len({o["outputs"]["out"]["hash"] for o in outcomes}) == 1


def test_when_the_holder_fails_one_waiter_executes_the_step_instead(store: Store, flow) -> None:
    outcomes = _race(store, [_task(flow, "fails_once", f"r{i}") for i in range(4)])
    assert flow["executions"].read_text().splitlines() == ["fails_once"] * 2
    failed = [o for o in outcomes if isinstance(o, StepFailed)]
    assert len(failed) == 1 and "the first execution fails" in str(failed[0])
    assert sorted(o["status"] for o in outcomes if not isinstance(o, Exception)) == ["ran", "reused", "reused"]


def test_a_step_without_cache_runs_in_every_run_at_once(store: Store, flow) -> None:
    tasks = [_task(flow, "slow", f"r{i}") for i in range(3)]
    for task in tasks:
        task["step"] = {**task["step"], "options": {**task["step"]["options"], "cache": False}}
    outcomes = _race(store, tasks)
    assert flow["executions"].read_text().splitlines() == ["w"] * 3
    assert [o["status"] for o in outcomes] == ["ran"] * 3


def _fingerprint(flow: dict[str, Any], step: str) -> str:
    from durapipe.engine.fingerprints import identify_step

    return identify_step(_task(flow, step, "r0")).fingerprint


def test_a_dead_holders_expired_lease_is_taken_over_and_the_step_executed(store: Store, flow) -> None:
    long_ago = time.time() - 2 * LEASE_S
    assert isinstance(acquire(store, _fingerprint(flow, "slow"), "a-dead-run", clock=lambda: long_ago), Lease)
    result = run_step(store, _task(flow, "slow", "r1"))
    assert result["status"] == "ran"
    assert flow["executions"].read_text().splitlines() == ["w"]
    assert read_lease(store, _fingerprint(flow, "slow")) is None


def test_a_step_waiting_for_a_live_holder_stops_when_its_run_is_canceled(store: Store, flow) -> None:
    assert isinstance(acquire(store, _fingerprint(flow, "slow"), "a-live-run"), Lease)
    record = {"schema": 1, "run_id": "r2", "pipeline": "racing", "status": "running", "steps": {}, "outputs": {}}
    write_run_record(store, record)
    threading.Timer(0.3, lambda: write_run_record(store, {**record, "status": "canceled"})).start()
    with pytest.raises(StepFailed, match=r"the run was canceled while the step waited for another run computing "
                                         r"the same fingerprint \(.+ pid \d+\)"):
        run_step(store, _task(flow, "slow", "r2"))
    assert flow["executions"].read_text() == ""


def test_a_step_waiting_for_a_live_holder_fails_at_its_timeout(store: Store, flow) -> None:
    assert isinstance(acquire(store, _fingerprint(flow, "slow"), "a-live-run"), Lease)
    task = _task(flow, "slow", "r3")
    task["step"] = {**task["step"], "options": {**task["step"]["options"], "timeout": 0.5}}
    with pytest.raises(StepFailed, match=r"the step timed out after 0.5 seconds while it waited for another run "
                                         r"computing the same fingerprint"):
        run_step(store, task)
    assert flow["executions"].read_text() == ""
