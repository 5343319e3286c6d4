"""`python -m durapipe.executors.remote.entry JOB`: a remote step's job, run on the compute target.

Reads the step's inputs from the store by reference, runs the step with the local executor
(its own process, log, timeout, cancel when the run's record says canceled), uploads its
outputs and log content-addressed, and writes the result under result_key(job name). Exits
0 when the step succeeded, 1 when it failed (printing its log, so the target's logs show it).
"""
from __future__ import annotations

import base64
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from durapipe.dsl import tracking
from durapipe.dsl.partition import input_path
from durapipe.executors.base import StepCall
from durapipe.executors.cancel import cancel_check
from durapipe.executors.local import LocalExecutor
from durapipe.executors.remote.base import RemoteJob, result_key
from durapipe.model.contracts import RemoteJobResult


def run_job(job: RemoteJob) -> RemoteJobResult:
    """Run `job`'s step here and store its result; return the result."""
    from durapipe.core.errors import IntegrityError, NotFoundError
    from durapipe.model.lost_input import lost_input_sentence
    from durapipe.store.artifacts import get_artifact, put_artifact
    from durapipe.store.url import open_store

    store = open_store(job.store_url)
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="durapipe-remote-"))
    executor = LocalExecutor()
    try:
        inputs, lost = {}, None
        for name, ref in job.inputs.items():
            inputs[name] = str(input_path(scratch / "in", name, job.env_vars))  # a partition under its own name
            Path(inputs[name]).parent.mkdir(parents=True, exist_ok=True)
            try:
                get_artifact(store, ref, inputs[name])
            except (IntegrityError, NotFoundError) as exc:
                # As a local step's `InputLost`: the orchestrator has the step that made the input make it again.
                lost = lost_input_sentence(name, ref["hash"], str(exc))
                break
        (scratch / "out").mkdir()
        outputs = {name: str(scratch / "out" / name) for name in job.outputs}
        log_path = scratch / "step.log"
        logged = scratch / "tracking.jsonl"
        # The job's working folder is its copy of the project (the target ships it there).
        code_root = str(Path.cwd()) if job.code_root else None
        python, error = _environment(job, log_path) if lost is None else (None, lost)
        # As on the local executor: the step's log_metric and log_param write to this job's own channel.
        call = StepCall(step_ref=job.step_ref, code_root=code_root, params=job.params, inputs=inputs,
                        outputs={n: p for n, p in outputs.items() if n != job.metrics_output},
                        log_path=str(log_path), code=job.code, timeout=job.timeout, python=python,
                        env_vars={**job.env_vars, tracking.METRICS_FILE_ENV: str(logged),
                                  **_reads_channel(scratch)})
        if error is None:
            error = executor.run(call, cancel_check(store, job.run_id)).error
        if not log_path.exists():
            log_path.write_bytes(b"")
        metrics, logged_params = tracking.read_channel(logged)
        if job.metrics_output:
            Path(outputs[job.metrics_output]).write_text(json.dumps(metrics, sort_keys=True))
        log_ref = put_artifact(store, log_path)
        missing = [n for n in job.outputs if not Path(outputs[n]).exists()]
        if error is None and missing:
            error = f"the step did not write its output{'s' if len(missing) > 1 else ''} " + \
                    ", ".join(repr(m) for m in missing)
        result: RemoteJobResult = {
            "schema": 1, "ok": error is None, "error": error, "log": log_ref,
            "outputs": {} if error else {n: put_artifact(store, p) for n, p in outputs.items()},
            "started": started.isoformat(), "finished": datetime.now(timezone.utc).isoformat(),
            "duration_s": round(time.perf_counter() - clock, 6), "metrics": metrics, "logged_params": logged_params}
        if error is None:
            # Hashed here, in the job's copy of the project: the commit's reads are checked against the
            # project where the next run plans, which holds the same files unless one changed.
            reads = _traced_reads(scratch, code_root, started, store)
            if reads is not None:
                result["reads"] = reads
        if error:
            sys.stdout.write(log_path.read_text(errors="replace"))
        store.put(result_key(job.name), json.dumps(result, sort_keys=True).encode())
        return result
    finally:
        executor.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _reads_channel(scratch: Path) -> dict[str, str]:
    """As a local step's: the environment variable asking the step's process to trace what it reads."""
    from durapipe.executors import read_tracing

    if not read_tracing.tracing_enabled():
        return {}
    return {read_tracing.READS_FILE_ENV: str(scratch / "reads.json")}


def _traced_reads(scratch: Path, code_root: str | None, started: datetime, store: object) -> dict[str, str | None] | None:
    """{project-relative path: content hash} of the project files the step read; None when it was not traced."""
    from durapipe.core.paths import find_project_root
    from durapipe.executors import read_tracing
    from durapipe.fingerprint.reads import traced_reads

    opened = read_tracing.read_reads(scratch / "reads.json")
    if opened is None:
        return None
    root = getattr(store, "root", None)
    return traced_reads(opened, find_project_root(code_root), started.timestamp(),
                        [scratch] + ([root] if isinstance(root, Path) else []))


def _environment(job: RemoteJob, log_path: Path) -> tuple[str | None, str | None]:
    """The interpreter of the step's own environment when this job builds it, or the installer's error."""
    if not (job.build_environment and job.environment):
        return None, None
    from durapipe.executors.environments import EnvironmentBuildError, ensure_environment, environments_dir

    try:
        return str(ensure_environment(job.environment, environments_dir(None)).python), None
    except EnvironmentBuildError as exc:
        log_path.write_text(str(exc) + "\n")
        return None, str(exc)


def main() -> int:
    """Decode the job from argv[1], run it, and say how it went."""
    job = RemoteJob(**json.loads(base64.urlsafe_b64decode(sys.argv[1])))
    result = run_job(job)
    print(f"durapipe: step {job.step_ref} " + ("succeeded" if result["ok"] else f"failed: {result['error']}"))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
