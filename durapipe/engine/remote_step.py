"""A step on remote compute: submit it (or reuse its commit), poll its job, collect and commit its result.

The three are activities of the `remote_step` sub-orchestration, which waits between polls
with durable timers, so a job of hours costs a few dozen history events and no worker.
"""
from __future__ import annotations

import json
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.core.canonical import sha256_text
from durapipe.model.contracts import REUSED, RemoteJobResult, RemotePoll, RemoteSubmission, StepResult, StepTask
from durapipe.model.records import StepRecord
from durapipe.model.spec import step_options
from durapipe.dsl.partition import partition_variables
from durapipe.engine.fingerprints import identify_step
from durapipe.engine.request import ANY_FOLDER, CodePolicy
from durapipe.engine.read_files import declared_variables
from durapipe.engine.run_step import StepFailed, committed_result, step_result
from durapipe.fingerprint.reads import READS
from durapipe.core.errors import NotFoundError
from durapipe.executors.cancel import run_canceled
from durapipe.executors.remote.base import TERMINAL, RemoteJob, result_key
from durapipe.executors.remote.targets import remote_target
from durapipe.store.records import commit_step_record
from durapipe.store.artifacts import put_artifact

if TYPE_CHECKING:
    from durapipe.store.base import Store


def job_name(task: StepTask, fingerprint: str = "") -> str:
    """The remote job's name: one per run, attempt, step, partition and fingerprint, so a repeated submit finds the same job.

    The readable part is cut and its characters replaced as job names require, so a hash of the
    whole keeps two partitions whose names differ only there (or past the cut) apart.
    """
    raw = f"durapipe-{task['run_id']}-{task['step']['name']}"
    if task.get("partition"):
        raw += f"-{task['partition']['name']}"
    digest = sha256_text(f"{raw}\n{fingerprint}\n{task.get('attempt') or ''}")[:16]
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", raw)[:110] + "-" + digest


def submit_step(store: Store, task: StepTask, *, code: CodePolicy = ANY_FOLDER) -> RemoteSubmission:
    """Reuse the step's commit when it has one; else submit it to its compute target (its code from a folder
    `code` allows, unless the local CLI signed the run)."""
    identity = identify_step(task, code=code)
    step = task["step"]
    reused = committed_result(store, task, identity)
    if reused is not None:
        return {"status": REUSED, "result": reused}
    if run_canceled(store, task.get("run_id")):
        raise StepFailed("the run was canceled before the step started")
    options = step_options(step)
    compute = options["compute"]
    job = RemoteJob(name=job_name(task, identity.fingerprint), step_ref=step["ref"], params=dict(identity.params),
                    inputs=dict(identity.inputs), outputs=list(step["outputs"]), store_url=store.url,
                    code=identity.components["code"], code_root=task.get("code_root"), run_id=task.get("run_id"),
                    timeout=options["timeout"], environment=options["environment"],
                    metrics_output=step.get("metrics_output"),
                    env_vars={**declared_variables(options.get("env")),
                              **partition_variables(step.get("map"), task.get("partition"))})
    job_id = remote_target(compute).submit(job)
    return {"status": "submitted", "compute": compute, "job_id": job_id, "job_name": job.name,
            "fingerprint": identity.fingerprint, "started": datetime.now(timezone.utc).isoformat()}


def poll_step(store: Store, task: StepTask, submitted: RemoteSubmission) -> RemotePoll:
    """The remote job's status; a job of a canceled run is stopped here."""
    target = remote_target(submitted["compute"])
    status = target.status(submitted["job_id"])
    if status not in TERMINAL and run_canceled(store, task.get("run_id")):
        target.cancel(submitted["job_id"])
        status = target.status(submitted["job_id"])
    return {"done": status in TERMINAL, "status": status}


def collect_step(store: Store, task: StepTask, submitted: RemoteSubmission, *,
                 code: CodePolicy = ANY_FOLDER) -> StepResult:
    """Commit the remote step's outputs (already in the store), or fail with its error and remote logs."""
    identity = identify_step(task, code=code)
    if identity.fingerprint != submitted["fingerprint"]:
        raise StepFailed("the step's code or inputs changed while it ran remotely; run the pipeline again")
    result: RemoteJobResult | None
    try:
        result = json.loads(store.get(result_key(submitted["job_name"])))
    except NotFoundError:
        result = None
    if result is None or not result.get("ok"):
        log_ref = _remote_log(store, submitted)
        reason = (result or {}).get("error") or f"the remote job ended {_status(submitted)} before the step finished"
        raise StepFailed(f"{reason} (log artifact {log_ref['hash'][:12]})")
    record: StepRecord = {
        "schema": 1, "fingerprint": identity.fingerprint, "step": task["step"]["name"],
        "pipeline": task.get("pipeline"), "outputs": result["outputs"],
        # The files the step read, hashed where it ran: the commit is reused only while they hold here.
        "components": {**identity.components, **({READS: result["reads"]} if "reads" in result else {})},
        "log": result["log"], "run_id": task.get("run_id"), "partition": task.get("partition"),
        "started": result["started"], "finished": result["finished"], "duration_s": result["duration_s"],
        "compute": submitted["compute"],
        "metrics": result.get("metrics") or {}, "logged_params": result.get("logged_params") or {},
    }
    if step_options(task["step"])["cache"]:
        record = commit_step_record(store, record, overwrite=bool(task.get("force")))
    return step_result(record, "ran", task)


def _status(submitted: RemoteSubmission) -> str:
    try:
        return remote_target(submitted["compute"]).status(submitted["job_id"])
    except Exception:
        return "unknown"


def _remote_log(store: Store, submitted: RemoteSubmission) -> dict[str, Any]:
    """The job's logs on its target, stored as an artifact (what `durapipe logs` shows)."""
    try:
        text = remote_target(submitted["compute"]).logs(submitted["job_id"])
    except Exception as exc:  # the target lost them: say so in their place
        text = f"The logs of remote job {submitted['job_id']} could not be read: {exc}\n"
    with tempfile.TemporaryDirectory(prefix="durapipe-remote-log-") as folder:
        path = Path(folder) / "remote.log"
        path.write_text(text)
        return put_artifact(store, path)
