"""compute="azureml:CLUSTER": a step as an Azure ML command job on a compute cluster, through azure-ai-ml's MLClient.

Needs the `azureml` extra (`pip install 'durapipe[azureml]'`) where the activities run. The
workspace comes from settings (WORKSPACE_SETTINGS), the credential is DefaultAzureCredential.
durapipe's own code and the project folder travel as one content-addressed zip in durapipe's
store; the job's command is a small bootstrap (azureml_bootstrap.py) that fetches it, checks
its hash and runs `python -m durapipe.executors.remote.entry`.
"""
from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
import os
import re
import shlex
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.core.paths import library_folder
from durapipe.core.errors import DurapipeError, UsageError
from durapipe.core.fixed_zip import add_entry
from durapipe.model.compute import CLUSTER_NAME
from durapipe.executors.remote.base import FAILED, PENDING, RUNNING, STOPPED, SUCCEEDED, RemoteJob

if TYPE_CHECKING:
    from durapipe.store.base import Store

SUBSCRIPTION_ENV = "DURAPIPE_AZUREML_SUBSCRIPTION_ID"
RESOURCE_GROUP_ENV = "DURAPIPE_AZUREML_RESOURCE_GROUP"
WORKSPACE_ENV = "DURAPIPE_AZUREML_WORKSPACE"
# The Azure ML environment the job runs in ("azureml:NAME:VERSION" or "azureml:NAME@latest"): Python
# 3.11 with durapipe's dependencies installed (durapipe's own code comes with the job).
ENVIRONMENT_ENV = "DURAPIPE_AZUREML_ENVIRONMENT"
# Optional: the Azure Resource Manager endpoint, for a sovereign cloud (default: the public cloud's).
ENDPOINT_ENV = "DURAPIPE_AZUREML_ENDPOINT"
EXPERIMENT = "durapipe"
WORKSPACE_SETTINGS = (SUBSCRIPTION_ENV, RESOURCE_GROUP_ENV, WORKSPACE_ENV, ENVIRONMENT_ENV)

# Azure ML's job statuses in durapipe's words (anything not named is still on its way).
_STATUS = {"NotStarted": PENDING, "Starting": PENDING, "Provisioning": PENDING, "Preparing": PENDING,
           "Queued": PENDING, "Running": RUNNING, "Finalizing": RUNNING, "CancelRequested": RUNNING,
           "Completed": SUCCEEDED, "Failed": FAILED, "Canceled": STOPPED, "NotResponding": RUNNING,
           "Paused": RUNNING}
# Never shipped with the project: state, environments, version control.
_EXCLUDED_DIRS = {".durapipe", ".venv", "venv", ".git", "node_modules", "__pycache__", ".pytest_cache"}
_LOG_PATTERN = re.compile(r"user_logs/std_log.*\.txt|azureml-logs/\d{2}.+\.txt")


def check_cluster(cluster: str) -> str:
    """`cluster` when it is a valid compute cluster name, else raise DurapipeError."""
    if not CLUSTER_NAME.fullmatch(cluster):
        raise DurapipeError(f"The Azure ML compute cluster name {cluster!r} is not valid: it is 2 to 16 letters, "
                            "digits and hyphens, starting with a letter.")
    return cluster


def workspace_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The workspace settings from the environment; raise UsageError naming those that are missing."""
    environ = os.environ if environ is None else environ
    missing = [name for name in WORKSPACE_SETTINGS if not environ.get(name, "").strip()]
    if missing:
        raise UsageError("compute=\"azureml:...\" needs the Azure ML workspace settings " + ", ".join(missing)
                         + " (the subscription id, resource group, workspace name and the job environment, "
                           "as \"azureml:NAME:VERSION\").")
    return {name: environ[name].strip() for name in WORKSPACE_SETTINGS} | {
        ENDPOINT_ENV: environ.get(ENDPOINT_ENV, "").strip()}


class AzureMLTarget:
    """An Azure ML compute cluster of the workspace named by settings; jobs are command jobs named as durapipe names them."""

    def __init__(self, cluster: str, credential: Any = None, environ: dict[str, str] | None = None) -> None:
        self.cluster = check_cluster(cluster)
        self.settings = workspace_settings(environ)
        self._credential = credential
        self._client: Any = None

    def _ml(self) -> Any:
        if self._client is None:
            try:
                from azure.ai.ml import MLClient
            except ImportError:
                raise DurapipeError("compute=\"azureml:...\" needs azure-ai-ml where the activities run: "
                                    "pip install 'durapipe[azureml]'.") from None
            # azure-ai-ml announces every experimental schema class it loads; they say nothing to a user.
            logging.getLogger("azure.ai.ml").setLevel(logging.ERROR)
            credential = self._credential
            if credential is None:
                from azure.identity import DefaultAzureCredential
                credential = DefaultAzureCredential()
            s = self.settings
            self._client = MLClient(credential, s[SUBSCRIPTION_ENV], s[RESOURCE_GROUP_ENV], s[WORKSPACE_ENV],
                                    enable_telemetry=False, show_progress=False, **_cloud(s[ENDPOINT_ENV]))
        return self._client

    def submit(self, job: RemoteJob) -> str:
        """Upload the code bundle, create the command job named `job.name` (a second submit finds the first)."""
        from azure.ai.ml import command

        from durapipe.store.url import open_store

        if job.store_url.startswith("azblob://"):
            raise UsageError(f"An Azure ML job opens the store by URL, and {job.store_url!r} needs a connection "
                             "setting the job does not have: use https://ACCOUNT.blob.core.windows.net/CONTAINER.")
        bundle = put_bundle(open_store(job.store_url), job.code_root)
        if job.environment:
            job = dataclasses.replace(job, build_environment=True)
        payload = base64.urlsafe_b64encode(json.dumps(job.to_json()).encode()).decode()
        bootstrap = (Path(__file__).with_name("azureml_bootstrap.py")).read_text()
        line = " ".join(shlex.quote(part) for part in ("python", "-c", bootstrap, job.store_url, bundle, payload))
        client = self._ml()  # first: it registers the workspace's cloud, which building the job reads
        definition = command(command=line, environment=self.settings[ENVIRONMENT_ENV], compute=self.cluster,
                             name=job.name, display_name=job.step_ref, experiment_name=EXPERIMENT,
                             environment_variables=dict(job.env_vars), tags={"durapipe.run": job.run_id or ""})
        try:
            return client.jobs.create_or_update(definition).name
        except Exception as exc:
            if self._exists(job.name):
                return job.name  # the activity ran again after its first submit went through
            raise DurapipeError(f"The Azure ML workspace {self.settings[WORKSPACE_ENV]} refused the job "
                                f"{job.name}: {_first_line(exc)}") from None

    def status(self, job_id: str) -> str:
        """The job's status in durapipe's words."""
        status = self._ml().jobs.get(job_id).status
        return _STATUS.get(str(getattr(status, "value", status)), PENDING)

    def logs(self, job_id: str) -> str:
        """The job's user logs (the entry point prints the step's log when the step fails)."""
        # azure-ai-ml has no public call for a finished job's logs: `jobs.stream` reads the same run
        # details and log URLs, but only while the job runs. These are the calls it makes.
        from azure.ai.ml._utils.utils import download_text_from_url

        client = self._ml()
        files = client.jobs._runs_operations.get_run_details(job_id).log_files or {}
        texts = [download_text_from_url(files[name], client.jobs._requests_pipeline)
                 for name in sorted(files) if _LOG_PATTERN.fullmatch(name)]
        return "".join(texts)

    def cancel(self, job_id: str) -> None:
        """Cancel the job (nothing to do when it has ended)."""
        if self.status(job_id) in (SUCCEEDED, FAILED, STOPPED):
            return
        try:
            self._ml().jobs.begin_cancel(job_id).result()
        except Exception:
            if self.status(job_id) not in (SUCCEEDED, FAILED, STOPPED):
                raise

    def _exists(self, job_id: str) -> bool:
        try:
            self._ml().jobs.get(job_id)
            return True
        except Exception:
            return False


def _cloud(endpoint: str) -> dict[str, Any]:
    """MLClient's cloud arguments: the public cloud, or one whose Resource Manager is at `endpoint`."""
    if not endpoint:
        return {"cloud": "AzureCloud"}  # named, so a cloud chosen elsewhere in the process is not inherited
    if not endpoint.startswith("https://"):
        raise UsageError(f"{ENDPOINT_ENV} must be an https:// URL, not {endpoint!r}.")
    base = endpoint.rstrip("/") + "/"
    metadata = {"azure_portal": base, "resource_manager": base, "active_directory": base,
                "aml_resource_id": base, "storage_endpoint": "core.windows.net", "registry_discovery_endpoint": base}
    return {"cloud": f"durapipe:{base}", "cloud_metadata": metadata}


def bundle_bytes(code_root: str | None) -> bytes:
    """A zip of durapipe's package (under lib/) and the project folder (under project/), the same bytes for the same files."""
    package = library_folder()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for prefix, root in (("lib/durapipe", package), ("project", Path(code_root) if code_root else None)):
            if root is None:
                continue
            for path in sorted(_files(root)):
                add_entry(bundle, f"{prefix}/{path.relative_to(root).as_posix()}", path.read_bytes())
    return buffer.getvalue()


def put_bundle(store: Store, code_root: str | None) -> str:
    """Store the code bundle as a content-addressed artifact (once per content); return its sha256."""
    from durapipe.store.artifacts import put_artifact

    with tempfile.TemporaryDirectory(prefix="durapipe-bundle-") as folder:
        path = Path(folder) / "bundle.zip"
        path.write_bytes(bundle_bytes(code_root))
        return put_artifact(store, path)["hash"]


def _files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _EXCLUDED_DIRS and not d.endswith(".egg-info")]
        found.extend(Path(folder) / f for f in files if not f.endswith((".pyc", ".pyo")))
    return found


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
