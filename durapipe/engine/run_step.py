"""Run one step: fingerprint it, reuse a committed result, or execute it and commit.

Idempotent: a retry after a crash recomputes the same fingerprint, finds the commit the
crashed attempt may have made, and reuses it.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from durapipe import tracking
from durapipe.contracts import StepResult, StepTask
from durapipe.engine.fingerprints import StepIdentity, identify_step
from durapipe.errors import DurapipeError
from durapipe.records import commit_step_record, find_step_record
from durapipe.scratch import new_scratch_dir
from durapipe.stores.artifacts import get_artifact, put_artifact


class StepFailed(Exception):
    """The user's step raised, or did not produce what it declared."""


def run_step(store: Any, task: StepTask) -> StepResult:
    """Execute the step described by `task` (or reuse its commit) and return its result."""
    identity = identify_step(task)
    step = task["step"]
    cache = step["options"].get("cache", True)
    if cache and not task.get("force"):
        record = find_step_record(store, identity.fingerprint)
        if record is not None:
            return step_result(record, "reused", task)
    record = _execute(store, task, identity)
    if cache:
        record = commit_step_record(store, record, overwrite=bool(task.get("force")))
    return step_result(record, "ran", task)


def _execute(store: Any, task: StepTask, identity: StepIdentity) -> dict[str, Any]:
    step = task["step"]
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    scratch = new_scratch_dir(f"durapipe-{step['name']}-")
    try:
        kwargs: dict[str, Any] = dict(identity.params)
        for name, ref in identity.inputs.items():
            target = scratch / "in" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            get_artifact(store, ref, target)
            kwargs[name] = target
        _group_fan_in(kwargs, step.get("fan_in") or {})
        out_dir = scratch / "out"
        out_dir.mkdir()
        metrics_output = step.get("metrics_output")
        for name in step["outputs"]:
            if name != metrics_output:
                kwargs[name] = out_dir / name
        log_path = scratch / "step.log"
        with tracking.channel(scratch / "tracking.jsonl") as logged:
            error = _call_with_log(identity.func, kwargs, log_path)
        metrics, logged_params = tracking.read_channel(logged)
        if metrics_output:
            (out_dir / metrics_output).write_text(json.dumps(metrics, sort_keys=True))
        log_ref = put_artifact(store, log_path)
        if error is not None:
            raise StepFailed(f"{error} (log artifact {log_ref['hash'][:12]})")
        missing = [n for n in step["outputs"] if not (out_dir / n).exists()]
        if missing:
            raise StepFailed(f"the step did not write its output{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(repr(m) for m in missing)}")
        outputs = {name: put_artifact(store, out_dir / name) for name in step["outputs"]}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    finished = datetime.now(timezone.utc)
    return {
        "schema": 1, "fingerprint": identity.fingerprint, "step": step["name"],
        "pipeline": task.get("pipeline"), "components": identity.components, "outputs": outputs,
        "log": log_ref, "run_id": task.get("run_id"), "partition": task.get("partition"),
        "metrics": metrics, "logged_params": logged_params,
        "started": started.isoformat(), "finished": finished.isoformat(),
        "duration_s": round(time.perf_counter() - clock, 6),
    }


def _group_fan_in(kwargs: dict[str, Any], fan_in: dict[str, Any]) -> None:
    """Replace the flat inputs of each fan-in input with the list (or dict) of their paths, in declared order."""
    for name, group in fan_in.items():
        paths = {key: kwargs.pop(flat) for key, flat in group["items"].items() if flat in kwargs}
        kwargs[name] = paths if group["kind"] == "dict" else list(paths.values())


def _call_with_log(func: Any, kwargs: dict[str, Any], log_path: Path) -> str | None:
    """Call `func`, sending its stdout/stderr (file descriptors too) to `log_path`; return the error."""
    with open(log_path, "w+b") as log, _redirected_fds(log.fileno()):
        try:
            func(**kwargs)
            return None
        except DurapipeError as exc:
            print(str(exc), file=sys.stderr)
            return str(exc)
        except Exception as exc:  # the user's code: any exception fails the step, not the host
            traceback.print_exc()
            return f"{type(exc).__name__}: {exc}"
        finally:
            sys.stdout.flush()
            sys.stderr.flush()


@contextlib.contextmanager
def _redirected_fds(target_fd: int) -> Iterator[None]:
    # Redirect at the descriptor level so output of C extensions and subprocesses is kept too.
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(target_fd, 1)
        os.dup2(target_fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def step_result(record: dict[str, Any], status: str, task: StepTask) -> StepResult:
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
