"""compute="ray:http://HOST:8265": a step as a Ray job, through Ray's job submission API.

Needs the `ray` extra (`pip install durapipe[ray]`) where the activities run; the cluster
needs durapipe's store client (azure-storage-blob for a Blob store); durapipe's own code and
the project folder travel with each job (runtime_env py_modules and working_dir), and a
step's `environment=` becomes the job's runtime_env pip list.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import shlex
import threading
from typing import Any, Iterator

from durapipe.core.paths import library_folder
from durapipe.core.errors import DurapipeError
from durapipe.executors.remote.base import FAILED, PENDING, RUNNING, STOPPED, SUCCEEDED, RemoteJob

_STATUS = {"PENDING": PENDING, "RUNNING": RUNNING, "SUCCEEDED": SUCCEEDED, "FAILED": FAILED, "STOPPED": STOPPED}
# Never shipped to the cluster with the project: state, environments, version control.
_EXCLUDES = [".durapipe", ".venv", "venv", ".git", "node_modules", "__pycache__", "*.pyc"]


# Ray's client takes RAY_API_SERVER_ADDRESS or RAY_ADDRESS over the address it is given
# (ray.dashboard.utils.get_address_for_submission_client): a step that names its cluster must reach
# that cluster, not whatever one the environment names, so the client is made with both unset.
# os.environ is the process's, so they are taken out and put back under a lock.
_ADDRESS_VARIABLES = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")
_environ_lock = threading.Lock()


@contextlib.contextmanager
def _without_address_variables() -> Iterator[None]:
    with _environ_lock:
        saved = {name: os.environ.pop(name) for name in _ADDRESS_VARIABLES if name in os.environ}
        try:
            yield
        finally:
            os.environ.update(saved)


class RayTarget:
    """A Ray cluster, by the address of its job submission API (the dashboard, port 8265 by default)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._client: Any = None

    def _jobs(self) -> Any:
        if self._client is None:
            try:
                from ray.job_submission import JobSubmissionClient
            except ImportError:
                raise DurapipeError("compute=\"ray:...\" needs Ray where the activities run: "
                                    "pip install 'durapipe[ray]'.") from None
            try:
                with _without_address_variables():
                    self._client = JobSubmissionClient(self.address)
            except Exception as exc:
                raise DurapipeError(f"The Ray cluster at {self.address} cannot be reached: {exc}") from None
        return self._client

    def submit(self, job: RemoteJob) -> str:
        """Submit `job` as a Ray job whose submission id is the job's name (a second submit finds the first)."""
        payload = base64.urlsafe_b64encode(json.dumps(job.to_json()).encode()).decode()
        runtime_env: dict[str, Any] = {
            "py_modules": [str(library_folder())],
        }
        if job.code_root:
            runtime_env.update(working_dir=job.code_root, excludes=_EXCLUDES)
        if job.environment:
            runtime_env["pip"] = list(job.environment)
        if job.env_vars:
            runtime_env["env_vars"] = dict(job.env_vars)
        client = self._jobs()
        try:
            return client.submit_job(entrypoint=f"python -m durapipe.executors.remote.entry {shlex.quote(payload)}",
                                     submission_id=job.name, runtime_env=runtime_env)
        except Exception as exc:
            if _exists(client, job.name):
                return job.name  # the activity ran again after its first submit went through
            raise DurapipeError(f"The Ray cluster at {self.address} refused the job: {exc}") from None

    def status(self, job_id: str) -> str:
        """The job's status in durapipe's words."""
        return _STATUS.get(str(self._jobs().get_job_status(job_id).value), PENDING)

    def logs(self, job_id: str) -> str:
        """What the job printed (the entry point prints the step's log when the step fails)."""
        return self._jobs().get_job_logs(job_id)

    def cancel(self, job_id: str) -> None:
        """Stop the job (nothing to do when it has ended)."""
        try:
            self._jobs().stop_job(job_id)
        except Exception:
            if self.status(job_id) not in (SUCCEEDED, FAILED, STOPPED):
                raise


def _exists(client: Any, job_id: str) -> bool:
    try:
        client.get_job_info(job_id)
        return True
    except Exception:
        return False
