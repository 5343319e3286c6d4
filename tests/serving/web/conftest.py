"""Fixtures for the web view: a real `durapipe serve` of a small project of its own, and a real
headless Chromium (Debian's, driven by Playwright) to open its pages."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import require_tier
from tests.host.serve.conftest import call, read_banner, stop_process, wait_for

FIXTURE_PROJECT = Path(__file__).parent / "fixture_project"
KEY = "web-test-key-0123456789abcdef"
CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep a headless Chromium in a container from reaching out or needing a GPU or sandbox.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_TIMEOUT_S = 120.0


@dataclass
class WebApp:
    """A running serve of the web fixture project: its root URL, key, state folder and process."""

    process: subprocess.Popen
    url: str
    home: Path
    tmp: Path
    banner: list[str]

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, answer) of one call to the JSON API with the key."""
        data = json.dumps(body).encode() if body is not None else None
        status, _, answer = call(method, f"{self.url}/api{path}", body=data,
                                 headers={"x-functions-key": KEY, "content-type": "application/json"})
        return status, answer

    def start_run(self, pipeline: str, parameters: dict[str, Any]) -> str:
        """Start a run over the API and return its id."""
        status, started = self.api("POST", f"/pipelines/{pipeline}/runs", {"parameters": parameters})
        assert status == 202, started
        return started["run_id"]

    def finished_run(self, run_id: str) -> dict[str, Any]:
        """Wait for a run to end and return its view."""
        def ended() -> Any:
            status, view = self.api("GET", f"/runs/{run_id}")
            return view if status == 200 and view["status"] in ("completed", "failed", "canceled") else None
        return wait_for(ended, timeout=RUN_TIMEOUT_S, interval=0.2)

    def stop(self) -> int:
        return stop_process(self.process)


@pytest.fixture(scope="package")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """One serve of the web fixture project over a local folder store, shared by the web tests."""
    tmp = tmp_path_factory.mktemp("web")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURAPIPE_") and k != "PYTHON_SCRIPT_FILE_NAME"}
    env.update({"DURAPIPE_HOME": str(tmp / "home"), "DURAPIPE_FUNCTION_KEY": KEY})
    # Served from inside the project, as a user runs it: the app serves the project's definitions.
    command = [sys.executable, "-m", "durapipe.cli", "serve", "--port", "0", "--store", str(tmp / "store"),
               "--max-parallel", "2", "--poll-interval", "1"]
    process = subprocess.Popen(command, env=env, cwd=FIXTURE_PROJECT, stdout=subprocess.PIPE,
                               stderr=open(tmp / "serve.err", "ab"), text=True)
    banner = read_banner(process, tmp / "serve.err", 90.0)
    running = WebApp(process, banner[0].rsplit(" ", 1)[1].rstrip("/"), tmp / "home", tmp, banner)
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="package")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A headless Chromium (Debian's /usr/bin/chromium; Playwright downloads no browser of its own)."""
    require_tier(request.config, "browser", "headless Chromium")
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/setup.sh`, which installs Debian's chromium.")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in a fresh browser context (no cookies), failing the test on any script error."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, errors


def signed_in(page: Any, web_app: WebApp, path: str = "/") -> Any:
    """Open `path` with ?code=KEY (which sets the key cookie) and return the response."""
    joiner = "&" if "?" in path else "?"
    return page.goto(f"{web_app.url}{path}{joiner}code={KEY}")


@pytest.fixture(scope="package")
def shapes_runs(web_app: WebApp) -> dict[str, dict[str, Any]]:
    """Two finished runs of `shapes`: one where every step ran, then one reusing two steps and failing the third."""
    salt = uuid.uuid4().hex  # results of this fixture's own, whatever other tests ran before
    first = web_app.finished_run(web_app.start_run("shapes", {"n": 3, "salt": salt}))
    assert first["status"] == "completed", first
    second = web_app.finished_run(web_app.start_run("shapes", {"n": 3, "fail": True, "salt": salt}))
    assert second["status"] == "failed", second
    return {"ran": first, "failed": second}
