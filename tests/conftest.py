"""Shared fixtures: Azurite (the real blob emulator), fresh stores over every backend."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from durapipe.host.sdk_compat import defer_host_imports
from durapipe.store.base import Store
from durapipe.store.local import LocalStore
from durapipe.store.url import AZURITE_ACCOUNT, open_store

# This process hosts the app, as `durapipe run` does: the SDK's unused imports are deferred before a test imports it.
defer_host_imports()

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
AZURITE_START_TIMEOUT_S = 30.0
STORE_BACKENDS = ["local", "azurite"]


# ---------------------------------------------------------------- test tiers

# Markers a test gets from the real parts it uses (pyproject.toml registers them): a test whose fixtures
# reach Azurite is `azurite`, the Ray head `ray`, headless Chromium `browser`. Each of these tiers is also
# `slow`, so `pytest -m "not slow"` runs everything on the local store in a few minutes.
TIER_FIXTURES = {"azurite": "azurite", "ray_head": "ray", "browser": "browser"}
SLOW_TIERS = frozenset(TIER_FIXTURES.values())
# Fixtures that make a test slow without a tier of their own: the Azure ML double (an HTTPS server
# driven through azure-ai-ml). Heavy modules say so themselves: `pytestmark = pytest.mark.slow  # why`.
SLOW_FIXTURES = frozenset({"azureml_double"})
_SELECTED_TIERS = pytest.StashKey[frozenset]()


def tiers_of(item: pytest.Item) -> set[str]:
    """The tier markers `item` needs: by the fixtures it uses, and by a backend parameter named after one."""
    tiers = {marker for fixture, marker in TIER_FIXTURES.items() if fixture in getattr(item, "fixturenames", ())}
    # A backend fixture (`store`, `store_url`, ...) asks for Azurite only when its parameter is "azurite".
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "azurite" in callspec.params.values():
        tiers.add("azurite")
    return tiers


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tiers, and `slow` when it has one, before `-m` selects (this runs first)."""
    for item in items:
        own = {mark.name for mark in item.iter_markers()}
        tiers = tiers_of(item) | (own & SLOW_TIERS)
        for tier in sorted(tiers - own):
            item.add_marker(tier)
        if (tiers or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))) and "slow" not in own:
            item.add_marker("slow")


class _SelectedTiers:
    """Records, once `-m` has selected, the tiers of the selected tests."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        config.stash[_SELECTED_TIERS] = frozenset(
            mark.name for item in items for mark in item.iter_markers() if mark.name in SLOW_TIERS)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_SelectedTiers(), "durapipe-selected-tiers")


def require_tier(config: pytest.Config, tier: str, part: str) -> None:
    """Fail when `part` starts although no selected test is marked `tier`: a test reaches it unmarked,
    and the quick tier (`-m "not slow"`) would quietly start it."""
    selected = config.stash.get(_SELECTED_TIERS, None)
    if selected is not None and tier not in selected:
        pytest.fail(f"A test started {part} but is not marked `{tier}`, so `-m \"not slow\"` runs it: "
                    f"mark it `@pytest.mark.{tier}` (tests/conftest.py marks by fixture and backend parameter).")


# ---------------------------------------------------------------- helpers

def free_port() -> int:
    """A TCP port nobody listens on right now (bound and released by the OS)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports nobody listens on right now: all held at once, then released.

    Asked one at a time, the OS may hand a port just released out again, and a Ray head refuses
    two of its components on one port.
    """
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + AZURITE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Azurite exited with code {process.returncode} before listening; its output:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"Azurite did not listen on port {port} within {AZURITE_START_TIMEOUT_S:.0f}s; its output:\n{log.read_text()}")


# ---------------------------------------------------------------- Azurite

@pytest.fixture(scope="session")
def azurite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The blob endpoint of a real Azurite started for this test session, e.g. http://127.0.0.1:PORT/devstoreaccount1."""
    require_tier(request.config, "azurite", "Azurite")
    if not AZURITE_BIN.exists():
        pytest.fail(f"Azurite is not installed at {AZURITE_BIN}: run `npm ci` (or `bash scripts/setup.sh`) in {REPO_ROOT}.")
    workspace = tmp_path_factory.mktemp("azurite")
    port = free_port()
    log = workspace / "azurite.log"
    command = [
        str(AZURITE_BIN), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        # In memory: nothing to clean up, and faster than disk; cwd keeps any stray file in the temp folder.
        "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry",
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=workspace, start_new_session=True)
    try:
        _wait_until_listening(process, port, log)
        yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def fault_proxy(azurite: str) -> Iterator[Any]:
    """A FaultProxy (tests/fault_proxy.py) in front of the session's Azurite; its `url` is the proxied endpoint."""
    from urllib.parse import urlsplit

    from tests.fault_proxy import FaultProxy

    proxy = FaultProxy(urlsplit(azurite).port)
    proxy.url = f"http://127.0.0.1:{proxy.port}/{AZURITE_ACCOUNT}"
    yield proxy
    proxy.close()


@pytest.fixture
def blob_store_url(azurite: str) -> Callable[..., str]:
    """Make the URL of a fresh, empty Azurite store: `blob_store_url(prefix="")`."""

    def make(prefix: str = "") -> str:
        container = "t" + uuid.uuid4().hex[:24]
        return f"{azurite}/{container}" + (f"/{prefix.strip('/')}" if prefix.strip("/") else "")

    return make


# ---------------------------------------------------------------- stores

@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh, empty store of each backend: a temp folder, and a new Azurite container."""
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return open_store(request.getfixturevalue("blob_store_url")())


# ---------------------------------------------------------------- projects

@pytest.fixture
def init_project(tmp_path: Path) -> Path:
    """A project made by `durapipe init` (pipeline `churn`, schedule `nightly`, blob trigger `arrivals`),
    with what a working folder gathers and no package may hold: local state, virtual environments,
    settings, secrets, old build output."""
    from durapipe.deploy.new_project import scaffold

    project = tmp_path / "work" / "churn"
    scaffold(project)
    clutter = {
        ".durapipe/steps/abc.json": "{}",
        ".durapipe/host/keys.json": '{"functionKey": "local-key"}',
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
        ".venv/lib/python3.11/site-packages/leftover.py": "",
        "myenv/pyvenv.cfg": "home = /usr/bin\n",
        "myenv/lib/thing.py": "",
        "local.settings.json": '{"Values": {"SECRET_TOKEN": "do-not-ship"}}',
        ".env": "SECRET_TOKEN=do-not-ship\n",
        "certs/client.pem": "-----BEGIN PRIVATE KEY-----\n",
        "build/old.txt": "an earlier build\n",
        "infra/main.bicep": "// the project's infrastructure\n",
        "helpers_test.py": "def test_nothing(): pass\n",
        "data/sample.csv": "value\n1\n",
    }
    for relative, text in clutter.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text)
    return project


# ---------------------------------------------------------------- Ray

RAY_START_TIMEOUT_S = 120.0
RAY_PROBE_PREFIX = "joined "
# The address a job's driver joins (the job supervisor sets RAY_ADDRESS for it), and the interpreter it runs.
RAY_PROBE_JOB = f"python -c \"import os, sys; print('{RAY_PROBE_PREFIX}' + os.environ.get('RAY_ADDRESS', ''), sys.executable)\""


def _wait_until_ray_takes_jobs(address: str, gcs_port: int, process: subprocess.Popen, log: Path) -> None:
    """Run one trivial job: the head answers its API before its job agent is up, and refuses jobs until then.

    The job prints the cluster its driver joins, which must be this head's (its GCS at `gcs_port`): with a
    user's RAY_ADDRESS in effect, jobs submitted to this head's address ran on the user's own head.
    """
    from ray.job_submission import JobStatus, JobSubmissionClient

    deadline = time.monotonic() + RAY_START_TIMEOUT_S
    client, job = JobSubmissionClient(address), None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The Ray head exited with code {process.returncode}; its output:\n{log.read_text()[-3000:]}")
        try:
            job = job or client.submit_job(entrypoint=RAY_PROBE_JOB)
            if client.get_job_status(job) == JobStatus.SUCCEEDED:
                joined = client.get_job_logs(job)
                if not re.search(rf"^{RAY_PROBE_PREFIX}\S+:{gcs_port} ", joined, re.MULTILINE):
                    pytest.fail(f"A job submitted to the test Ray head at {address} ran on another cluster, not on "
                                f"the head's own (GCS port {gcs_port}); it printed:\n{joined[-3000:]}")
                return
            if client.get_job_status(job) in (JobStatus.FAILED, JobStatus.STOPPED):
                pytest.fail(f"A trivial job failed on the Ray head: {client.get_job_logs(job)[-3000:]}")
        except RuntimeError:
            pass  # not taking jobs yet
        time.sleep(0.5)
    pytest.fail(f"The Ray head took no job within {RAY_START_TIMEOUT_S:.0f}s; its output:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def ray_head(request: pytest.FixtureRequest) -> Iterator[str]:
    """The job submission address of a real local Ray head started for this session, e.g. http://127.0.0.1:PORT."""
    require_tier(request.config, "ray", "a Ray head")
    import shutil
    import signal
    import sys
    import tempfile
    import urllib.request

    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.fail(f"Ray is not installed at {ray_bin}: run `bash scripts/setup.sh` (it installs durapipe[ray]).")
    # Short: Ray's Unix sockets live under it, and their paths are limited to about 100 characters.
    workspace = Path(tempfile.mkdtemp(prefix="dpray", dir="/tmp"))
    agent_options = ("--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--runtime-env-agent-port",
                     "--metrics-export-port", "--ray-client-server-port", "--node-manager-port",
                     "--object-manager-port")
    port, dashboard, *agent_ports = free_ports(2 + len(agent_options))
    # None of the user's Ray settings, here or in the processes tests start: Ray's JobSubmissionClient takes
    # RAY_API_SERVER_ADDRESS or RAY_ADDRESS over the address it is given, so with either pointing at a
    # user's own head every job went there (or failed as "cannot be reached").
    settings = pytest.MonkeyPatch()
    for name in [name for name in os.environ if name.startswith("RAY_")]:
        settings.delenv(name)
    env = {**os.environ, "PATH": f"{ray_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "RAY_USAGE_STATS_ENABLED": "0"}
    command = [str(ray_bin), "start", "--head", "--block", "--port", str(port), "--dashboard-port", str(dashboard),
               "--dashboard-host", "127.0.0.1", "--node-ip-address", "127.0.0.1", "--num-cpus", "2",
               "--temp-dir", str(workspace), "--include-dashboard", "true", "--disable-usage-stats"]
    # Every port of its own: another session's head on this machine holds Ray's defaults (the
    # dashboard agent's 52365, the client server's 10001), and a head whose job agent cannot bind
    # them refuses every job ("No available agent to submit job").
    for option, agent_port in zip(agent_options, agent_ports):
        command += [option, str(agent_port)]
    log = workspace / "head.log"
    address = f"http://127.0.0.1:{dashboard}"
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + RAY_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"The Ray head exited with code {process.returncode}; its output:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{address}/api/version", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"The Ray head did not answer within {RAY_START_TIMEOUT_S:.0f}s; its output:\n"
                            f"{log.read_text()[-3000:]}")
            time.sleep(0.5)
        _wait_until_ray_takes_jobs(address, port, process, log)
        yield address
    finally:
        # `ray start --block` stops the head's processes when it is told to stop.
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(workspace, ignore_errors=True)
        settings.undo()


# ---------------------------------------------------------------- Azure ML (a double: Azure cannot be reached here)

@pytest.fixture(scope="session")
def azureml_double(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The local HTTPS double of the Azure ML REST subset azure-ai-ml uses (tests/azureml_double.py)."""
    from tests.azureml_double import AzureMLDouble

    double = AzureMLDouble(tmp_path_factory.mktemp("azureml-double"))
    try:
        yield double
    finally:
        double.close()


@pytest.fixture
def azureml_settings(azureml_double: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The settings that point durapipe's Azure ML target at the double, set in this process's environment."""
    settings = azureml_double.settings()
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                 "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    yield settings
    # MLClient records its cloud in os.environ; the double's cloud must not reach later processes.
    os.environ.pop("AZUREML_CURRENT_CLOUD", None)
