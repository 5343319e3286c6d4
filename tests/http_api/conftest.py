"""A real `durapipe serve` of the repository's function app over an Azurite store."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from durapipe.store.url import open_store
from tests.host.serve.conftest import call, read_banner, stop_process, wait_for

RUN_TIMEOUT_S = 180.0
KEY = "api-test-key-0123456789abcdef"
SYSTEM_KEY = "api-test-system-key-0123456789abcdef"
START_TIMEOUT_S = 90.0


@dataclass
class App:
    """A running serve of the real app: its URL, key, store and process."""

    process: subprocess.Popen
    api: str
    store_url: str
    home: Path

    @property
    def store(self) -> Any:
        return open_store(self.store_url)

    def get(self, path: str, key: str | None = KEY) -> tuple[int, Any]:
        status, _, body = call("GET", self.api + path, headers={"x-functions-key": key} if key else {})
        return status, body

    def post(self, path: str, body: bytes = b"", key: str | None = KEY) -> tuple[int, Any]:
        headers = {"content-type": "application/json", **({"x-functions-key": key} if key else {})}
        status, _, answer = call("POST", self.api + path, body=body, headers=headers)
        return status, answer

    def stop(self) -> int:
        return stop_process(self.process)


EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "pipelines"


def start_app(tmp: Path, store_url: str, schedule: str = "0 0 3 * * *", project: Path = EXAMPLE_PROJECT,
              extra_env: dict[str, str] | None = None) -> App:
    """Start `durapipe serve --port 0` in `project` (default: the example project) and wait for its banner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURAPIPE_") and k != "PYTHON_SCRIPT_FILE_NAME"}
    env.update({"DURAPIPE_HOME": str(tmp / "home"), "DURAPIPE_FUNCTION_KEY": KEY, "DURAPIPE_SYSTEM_KEY": SYSTEM_KEY,
                "DURAPIPE_RETRAIN_SCHEDULE": schedule, **(extra_env or {})})
    command = [sys.executable, "-m", "durapipe.cli", "serve", "--port", "0", "--store", store_url,
               "--max-parallel", "2", "--poll-interval", "0.3"]
    process = subprocess.Popen(command, env=env, cwd=project, stdout=subprocess.PIPE,
                               stderr=open(tmp / "serve.err", "ab"), text=True)
    banner = read_banner(process, tmp / "serve.err", START_TIMEOUT_S)
    base_url = banner[0].rsplit(" ", 1)[1].rstrip("/")
    return App(process, base_url + "/api", store_url, tmp / "home")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, azurite: str) -> Iterator[App]:
    """One serve of the real app over a fresh Azurite container, shared by a module."""
    import uuid

    tmp = tmp_path_factory.mktemp("api")
    running = start_app(tmp, f"{azurite}/api{uuid.uuid4().hex[:20]}")
    yield running
    assert running.stop() == 0


def wait_for_run(app: App, status_url: str) -> dict:
    """The run at status_url once it has ended (polled over HTTP)."""
    def finished():
        status, _, body = call("GET", status_url, headers={"x-functions-key": KEY})
        assert status == 200, body
        return body if body["status"] in ("completed", "failed", "canceled") else None
    return wait_for(finished, timeout=RUN_TIMEOUT_S, interval=0.3)


@pytest.fixture(scope="module")
def trained(app: App) -> dict:
    """One completed retraining run started over HTTP: its 202 answer and its final view."""
    import json

    status, started = app.post("/pipelines/retrain/runs", json.dumps({"parameters": {"C": 0.5}}).encode())
    assert status == 202, started
    return {"started": started, "run": wait_for_run(app, started["status_url"])}
