"""End-to-end fixtures: throwaway projects run by the real `durapipe` command, over every store."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.e2e import projects

DURAPIPE = Path(sys.executable).with_name("durapipe")
CLI_TIMEOUT_S = 120
# Commands that accept --store; `resume` finds the store in the host's journal.
_STORE_COMMANDS = {("run",), ("plan",), ("explain",), ("runs", "list"), ("runs", "show"), ("data", "register"),
                   ("data", "list"), ("data", "versions"), ("data", "show"), ("data", "download"),
                   ("models", "list"), ("models", "show"), ("models", "register"), ("models", "promote"),
                   ("outputs",), ("rerun",), ("runs", "compare"), ("lineage",), ("gc",), ("logs",)}


@dataclass
class CliResult:
    """What one `durapipe` invocation did: exit code, stdout parsed as JSON (None if not JSON), stderr."""

    code: int
    json: Any
    stdout: str
    stderr: str

    def __iter__(self):  # unpacks as (code, json, stderr), the shape the brief asks for
        return iter((self.code, self.json, self.stderr))


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> CliResult:
    """Run `durapipe ARGS` in `cwd` with exactly `env`; parse stdout as JSON when it is."""
    done = subprocess.run([str(DURAPIPE), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S)
    try:
        parsed = json.loads(done.stdout)
    except ValueError:
        parsed = None
    return CliResult(done.returncode, parsed, done.stdout, done.stderr)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without durapipe settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURAPIPE_")}
    # A stale .pyc could run old code after an edit made within the same second at the same size.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


@dataclass
class Project:
    """A throwaway project folder (pyproject.toml, pipeline file, helper module) bound to one store."""

    root: Path
    store_url: str | None  # None: the default store, .durapipe/ in the project
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root.parent / f"{self.root.name}-executions.log"
        self.log.touch()

    # More environment for every command of this project (e.g. a flag a step reads).
    env_extra: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return clean_env(DURAPIPE_TEST_LOG=str(self.log), **self.env_extra)

    def cli(self, *args: str, as_json: bool = True) -> CliResult:
        """`durapipe ARGS [--store URL] [--json]` in the project folder."""
        argv = list(args)
        if self.store_url is not None and (tuple(argv[:1]) in _STORE_COMMANDS or tuple(argv[:2]) in _STORE_COMMANDS):
            argv += ["--store", self.store_url]
        if as_json:
            argv.append("--json")
        return run_cli(argv, self.root, self.env)

    def run(self, target: str, *options: str) -> CliResult:
        """`durapipe run TARGET OPTIONS --json`."""
        return self.cli("run", target, *options)

    def write(self, name: str, text: str) -> None:
        (self.root / name).write_text(text)

    def edit(self, name: str, old: str, new: str) -> None:
        """Replace the one occurrence of `old` in file `name`."""
        path = self.root / name
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} should occur once in {name}"
        path.write_text(text.replace(old, new))

    def log_lines(self) -> list[list[str]]:
        return [line.split() for line in self.log.read_text().splitlines() if line.strip()]

    def starts(self) -> Counter[str]:
        """How many times each step started executing."""
        return Counter(parts[0] for parts in self.log_lines() if parts[1] == "start")

    def ends(self) -> Counter[str]:
        """How many times each step finished executing."""
        return Counter(parts[0] for parts in self.log_lines() if parts[1] == "end")

    def intervals(self) -> dict[str, tuple[float, float]]:
        """(start, end) of the last execution of each step."""
        return {p[0]: (float(p[2]), float(p[3])) for p in self.log_lines() if p[1] == "end"}


def step_statuses(summary: dict[str, Any]) -> dict[str, str]:
    """{step: status} from a `run --json` summary."""
    return {name: step["status"] for name, step in summary["steps"].items()}


def new_project(root: Path, store_url: str | None, pipeline: str = projects.CHAIN) -> Project:
    """Write a throwaway project (pyproject.toml, flow.py, helper.py) in `root`."""
    root.mkdir(parents=True, exist_ok=True)
    project = Project(root, store_url)
    project.write("pyproject.toml", projects.PYPROJECT)
    project.write("helper.py", projects.HELPER)
    project.write("flow.py", pipeline)
    return project


def _store_url(kind: str, request: pytest.FixtureRequest) -> str | None:
    if kind == "local":
        return None
    azurite = request.getfixturevalue("azurite")
    return f"{azurite}/e2e{uuid.uuid4().hex[:20]}"


@pytest.fixture(params=["local", "azurite"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """A fresh store of each kind: None (the project's default local folder), then a new Azurite container."""
    return _store_url(request.param, request)


@pytest.fixture(scope="module", params=["local", "azurite"])
def module_store_url(request: pytest.FixtureRequest) -> str | None:
    """As `store_url`, shared by the tests of one module."""
    return _store_url(request.param, request)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    """`make_project(store_url, pipeline=CHAIN)`: a fresh throwaway project for this test."""
    count = iter(range(1000))

    def make(store_url: str | None = None, pipeline: str = projects.CHAIN) -> Project:
        return new_project(tmp_path / f"project{next(count)}", store_url, pipeline)

    return make
