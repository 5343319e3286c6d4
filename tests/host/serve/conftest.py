"""Fixtures for `durapipe serve`: a real serve subprocess over the fixture app, and its records."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

FIXTURE_APP = Path(__file__).parent / "fixture_app"
FIXTURE_SCRIPT = "serve_main.py"
START_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.1


@dataclass
class Served:
    """A running `durapipe serve` subprocess: where it listens, its key, and what its functions recorded."""

    process: subprocess.Popen
    base_url: str
    key: str
    records: Path
    home: Path
    banner: list[str]
    store: str

    @property
    def system_key(self) -> str:
        """The durable extension's system key the server keeps in its keys.json."""
        keys = json.loads((self.home / "host" / "keys.json").read_text())
        return keys["systemKeys"]["durabletask_extension"]

    def recorded(self, kind: str) -> list[dict[str, Any]]:
        folder = self.records / kind
        if not folder.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(folder.iterdir()) if not p.name.startswith(".")]

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        return stop_process(self.process, sig, timeout)


def stop_process(process: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 60) -> int:
    """Stop a serve with `sig` and return its exit code; kill it if it has not exited within `timeout`."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def serve_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a serve subprocess over the fixture app, with its state under tmp."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DURAPIPE_FUNCTION_KEY", "DURAPIPE_INCOMING_PREFIX", "DURAPIPE_STORE")}
    env.update({"DURAPIPE_HOME": str(tmp / "home"), "PYTHON_SCRIPT_FILE_NAME": FIXTURE_SCRIPT,
                "SERVE_FIXTURE_RECORD": str(tmp / "records"), "SERVE_FIXTURE_SCHEDULE": "* * * * * *"})
    env.update(extra)
    return env


def start_serve(tmp: Path, store: str, env: dict[str, str] | None = None,
                poll_interval: float = POLL_INTERVAL_S) -> Served:
    """Start `durapipe serve --port 0` over the fixture app and wait for its banner."""
    env = env or serve_env(tmp)
    command = [sys.executable, "-m", "durapipe.cli", "serve", "--port", "0", "--store", store,
               "--max-parallel", "1", "--poll-interval", str(poll_interval), "--script-root", str(FIXTURE_APP)]
    process = subprocess.Popen(command, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=open(tmp / "serve.err", "ab"),
                               text=True)
    banner = read_banner(process, tmp / "serve.err")
    base_url = banner[0].rsplit(" ", 1)[1]
    key = next(line for line in banner if line.startswith("function key")).rsplit(" ", 1)[1]
    return Served(process, base_url, key, Path(env["SERVE_FIXTURE_RECORD"]), Path(env["DURAPIPE_HOME"]), banner, store)


def read_banner(process: subprocess.Popen, errors: Path, timeout: float = START_TIMEOUT_S) -> list[str]:
    """The lines serve prints before it is ready; fails the test with its stderr if it exits first."""
    banner: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            process.wait()
            pytest.fail(f"durapipe serve exited with {process.returncode}:\n{errors.read_text()}")
        banner.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl+C"):
            break
    return banner


def call(method: str, url: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON body or text) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, head, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        status, head, payload = err.code, dict(err.headers), err.read()
    try:
        return status, head, json.loads(payload) if payload else None
    except ValueError:
        return status, head, payload.decode()


def wait_for(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll check() until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One serve subprocess over a local folder store, shared by a module."""
    tmp = tmp_path_factory.mktemp("serve")
    running = start_serve(tmp, str(tmp / "store"))
    yield running
    assert running.stop() == 0
