"""Run one step: fingerprint it, reuse a committed result, or execute it and commit.

Idempotent: a retry after a crash recomputes the same fingerprint, finds the commit the
crashed attempt may have made, and reuses it.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.dsl import tracking
from durapipe.dsl.partition import input_path, partition_variables
from durapipe.model.contracts import StepResult, StepTask
from durapipe.model.lost_input import lost_input_sentence
from durapipe.model.records import StepRecord
from durapipe.model.spec import step_options
from durapipe.engine.fingerprints import StepIdentity, identify_step
from durapipe.engine.read_files import changed_read, declared_variables, reads_channel, traced_reads
from durapipe.engine.request import ANY_FOLDER, CodePolicy
from durapipe.executors.base import StepCall
from durapipe.executors.cancel import cancel_check, run_canceled
from durapipe.executors.choose import executor_for, step_memory_mb
from durapipe.model.timing import LEASE_FIRST_POLL_S, LEASE_MAX_POLL_S, REPORT_MARGIN_S
from durapipe.store.records import commit_step_record, find_step_record
from durapipe.core.scratch import new_scratch_dir
from durapipe.core.errors import IntegrityError, NotFoundError
from durapipe.store.artifacts import get_artifact, put_artifact
from durapipe.store.leases import Heartbeat, Lease, LeaseState, acquire as acquire_lease, read_lease

if TYPE_CHECKING:
    from durapipe.store.base import Store


# A crash point for the tests: when this names a file, the first process to reach the point between
# storing a step's outputs and committing its record removes the file and kills itself (SIGKILL).
CRASH_BEFORE_COMMIT_ENV = "DURAPIPE_TEST_CRASH_BEFORE_COMMIT"


class StepFailed(Exception):
    """The user's step raised, or did not produce what it declared."""


class InputLost(StepFailed):
    """An input of the step could not be read: corrupt (and now quarantined) or gone from the store.

    Its message is `lost_input_sentence`, from which the orchestrator has the step that made the input make it
    again within the run.
    """

    def __init__(self, name: str, ref: dict[str, Any], reason: str) -> None:
        super().__init__(lost_input_sentence(name, ref["hash"], reason))
        self.input, self.ref = name, ref


def run_step(store: Store, task: StepTask, *, code: CodePolicy = ANY_FOLDER) -> StepResult:
    """Execute the step described by `task` (or reuse its commit) and return its result; its code from a folder
    `code` allows, unless the local CLI signed the run."""
    identity = identify_step(task, code=code)
    cache = step_options(task["step"])["cache"]
    if not cache:
        # Nobody reuses what it computes, so nobody waits for it: it takes no lease.
        return _execute_and_commit(store, task, identity, cache=False)
    # One fingerprint is computed once at a time across every process on the store: the lease's holder
    # executes it, every other run of it waits for that commit and reuses it.
    owner = _lease_owner(task)
    while True:
        held = acquire_lease(store, identity.fingerprint, owner)
        if isinstance(held, Lease):
            with Heartbeat(store, held):
                # Looked up under the lease: a holder before this one commits before it releases.
                reused = committed_result(store, task, identity)
                if reused is not None:
                    return reused
                return _execute_and_commit(store, task, identity, cache=True)
        if task.get("force"):
            # A forced step always runs, even beside a live holder; its commit replaces the holder's.
            return _execute_and_commit(store, task, identity, cache=True)
        reused = _wait_for_commit(store, task, identity, held)
        if reused is not None:
            return reused
        # The holder gave up without a commit (its step failed) or died: this run executes the step itself.


def _execute_and_commit(store: Store, task: StepTask, identity: StepIdentity, *, cache: bool) -> StepResult:
    record = _execute(store, task, identity)
    _crash_point(CRASH_BEFORE_COMMIT_ENV)
    if cache:
        record = commit_step_record(store, record, overwrite=bool(task.get("force")))
    return step_result(record, "ran", task)


def _lease_owner(task: StepTask) -> str:
    """Who a step's lease belongs to: its run, step and partition, so a retry of the same task after a crash
    takes over its own lease at once instead of waiting for it to expire."""
    if not task.get("run_id"):
        return uuid.uuid4().hex
    partition = (task.get("partition") or {}).get("name") or ""
    return f"{task['run_id']}/{task['step']['name']}/{partition}"


def _wait_for_commit(store: Store, task: StepTask, identity: StepIdentity, held: LeaseState) -> StepResult | None:
    """The result another process commits while it holds the fingerprint's lease; None when it gives the lease up
    without a commit or its lease expires. Waits within the step's timeout, and stops when the run is canceled."""
    timeout = step_options(task["step"])["timeout"]
    waited_since = time.monotonic()
    pause = LEASE_FIRST_POLL_S
    while True:
        what = f"another run computing the same fingerprint ({held.holder or 'a process that left no name'})"
        if run_canceled(store, task.get("run_id")):
            raise StepFailed(f"the run was canceled while the step waited for {what}")
        if timeout:
            try:
                left = min(_run_time_left(task, timeout) or timeout, timeout - (time.monotonic() - waited_since))
            except StepFailed:  # the orchestrator's deadline is near
                left = 0.0
            if left <= 0:
                raise StepFailed(f"the step timed out after {timeout:g} seconds while it waited for {what}")
            pause = min(pause, left)
        time.sleep(pause)
        pause = min(pause * 1.5, LEASE_MAX_POLL_S)
        # The lease first, then the commit: a holder commits before it releases, so no commit behind a
        # released lease means that its step failed.
        state = read_lease(store, identity.fingerprint)
        reused = committed_result(store, task, identity)
        if reused is not None:
            return reused
        if state is None or state.expired(time.time()):
            return None
        held = state


def _execute(store: Store, task: StepTask, identity: StepIdentity) -> StepRecord:
    step = task["step"]
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    scratch = new_scratch_dir(f"durapipe-{step['name']}-")
    try:
        kwargs: dict[str, Any] = dict(identity.params)
        for name, ref in identity.inputs.items():
            # A partition reaches the step under its own file name: the step may read it (`durapipe.partition()`).
            target = input_path(scratch / "in", name, partition_variables(step.get("map"), task.get("partition")))
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                get_artifact(store, ref, target)
            except (IntegrityError, NotFoundError) as exc:
                raise InputLost(name, ref, str(exc)) from None
            kwargs[name] = target
        out_dir = scratch / "out"
        out_dir.mkdir()
        metrics_output = step.get("metrics_output")
        for name in step["outputs"]:
            if name != metrics_output:
                kwargs[name] = out_dir / name
        log_path = scratch / "step.log"
        logged = scratch / "tracking.jsonl"
        error = _call_step(store, task, identity, kwargs, log_path, logged)
        metrics, logged_params = tracking.read_channel(logged)
        if metrics_output:
            (out_dir / metrics_output).write_text(json.dumps(metrics, sort_keys=True))
        log_ref = put_artifact(store, log_path)
        if error is not None:
            raise StepFailed(f"{error} (log artifact {log_ref['hash'][:12]})")
        missing = [n for n in step["outputs"] if not (out_dir / n).exists()]
        if missing:
            # The log names its artifact, as above: what the step printed is what explains the miss.
            raise StepFailed(f"the step did not write its output{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(repr(m) for m in missing)} (log artifact {log_ref['hash'][:12]})")
        outputs = {name: put_artifact(store, out_dir / name) for name in step["outputs"]}
        read = traced_reads(scratch, identity, started, store)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    finished = datetime.now(timezone.utc)
    return {
        "schema": 1, "fingerprint": identity.fingerprint, "step": step["name"],
        "pipeline": task.get("pipeline"), "components": {**identity.components, **read}, "outputs": outputs,
        "log": log_ref, "run_id": task.get("run_id"), "partition": task.get("partition"),
        "metrics": metrics, "logged_params": logged_params,
        "started": started.isoformat(), "finished": finished.isoformat(),
        "duration_s": round(time.perf_counter() - clock, 6),
    }


def _call_step(store: Store, task: StepTask, identity: StepIdentity, kwargs: dict[str, Any],
               log_path: Path, logged: Path) -> str | None:
    """Run the step through the executor of its compute target; return the error sentence, or None."""
    step = task["step"]
    options = step_options(step)
    if run_canceled(store, task.get("run_id")):
        raise StepFailed("the run was canceled before the step started")
    python = None
    requirements = options["environment"]
    if requirements:
        # Here, not at the top: with filelock it costs ~20 ms of every `durapipe run` that builds none.
        from durapipe.executors.environments import EnvironmentBuildError, ensure_environment, environments_dir, \
            mark_used

        try:
            env = ensure_environment(requirements, environments_dir(task.get("code_root")))
        except EnvironmentBuildError as exc:
            log_path.write_text(str(exc) + "\n")
            return str(exc)
        mark_used(env)
        python = str(env.python)
    timeout = options["timeout"]
    limit = _run_time_left(task, timeout)
    paths = {name: str(value) for name, value in kwargs.items() if isinstance(value, Path)}
    call = StepCall(
        step_ref=step["ref"], code_root=task.get("code_root"), params=dict(identity.params),
        inputs={name: paths[name] for name in identity.inputs},
        outputs={name: paths[name] for name in step["outputs"] if name in paths},
        log_path=str(log_path), code=identity.components["code"], timeout=limit,
        memory_mb=step_memory_mb(), python=python, fan_in=step.get("fan_in") or {},
        env_vars={tracking.METRICS_FILE_ENV: str(logged), **reads_channel(log_path.parent),
                  **partition_variables(step.get("map"), task.get("partition")),
                  **declared_variables(options.get("env"))})
    outcome = executor_for(options["compute"]).run(call, cancel_check(store, task.get("run_id")))
    if not log_path.exists():
        log_path.write_bytes(b"")
    if outcome.timed_out and timeout and limit is not None and limit < timeout:
        return (f"the step timed out after {timeout:g} seconds, counted from when the run scheduled it, "
                "and was killed")
    return None if outcome.ok else outcome.error


def _crash_point(env_name: str) -> None:
    flag = os.environ.get(env_name)
    if not flag:
        return
    try:
        os.unlink(flag)  # one process wins, once: the retry goes on
    except FileNotFoundError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _run_time_left(task: StepTask, timeout: float | None) -> float | None:
    """How long the step may run: its timeout, cut to end REPORT_MARGIN_S before the orchestrator gives up on it.

    The orchestrator gives up TIMEOUT_GRACE_S after the timeout, counted from when it scheduled the
    step: a step that started at once gets its whole timeout, one that waited for a worker less.
    """
    deadline = task.get("deadline")
    if not deadline or not timeout:
        return timeout
    moment = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    if moment.tzinfo is None:  # the orchestrator's clock is UTC
        moment = moment.replace(tzinfo=timezone.utc)
    left = (moment - datetime.now(timezone.utc)).total_seconds() - REPORT_MARGIN_S
    if left <= 0:
        raise StepFailed(f"the step timed out after {timeout:g} seconds, counted from when the run scheduled it, "
                         "before a worker could start it")
    return min(timeout, left)


def committed_result(store: Store, task: StepTask, identity: StepIdentity) -> StepResult | None:
    """The reused result of the step's commit, when its cache allows reuse and it is not forced; else None."""
    if not step_options(task["step"])["cache"] or task.get("force"):
        return None
    record = find_step_record(store, identity.fingerprint)
    if record is None or changed_read(record, identity) is not None:
        return None  # a file the step read when it was committed has changed since: it runs again
    return step_result(record, "reused", task)


def step_result(record: StepRecord, status: str, task: StepTask) -> StepResult:
    """What a step task returns to the orchestrator, from the commit record it ran or reused.

    The step name and partition are the task's own: a reused record may have been committed by
    another step, or another partition file, with the same fingerprint.
    """
    return {
        "step": task["step"]["name"], "status": status, "fingerprint": record["fingerprint"],
        "outputs": record["outputs"], "components": record.get("components"),
        "duration_s": record.get("duration_s") if status == "ran" else 0.0,
        "started": record.get("started"), "finished": record.get("finished"),
        "log": record.get("log"), "partition": task.get("partition"),
        "metrics": record.get("metrics") or {}, "logged_params": record.get("logged_params") or {},
    }
