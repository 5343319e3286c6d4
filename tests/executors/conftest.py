"""Fixtures for executor tests: a throwaway project of misbehaving steps, and calls to run them."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Callable, Iterator

import pytest

from durapipe.executors.base import StepCall
from durapipe.executors.local import LocalExecutor
from durapipe.fingerprint.code import code_components
from durapipe.load.targets import resolve_step

STEPS = '''
import ctypes, os, subprocess, sys, time
from durapipe import Output, step

@step
def writes(out: Output, text: str = "hi"):
    print("stdout line", text)
    print("stderr line", file=sys.stderr)
    subprocess.run(["echo", "from a subprocess"], check=True)
    out.write_text(text)

@step
def chatty(out: Output, marker: str = "", lines: int = 200):
    for _ in range(lines):
        print(marker, flush=True)
        time.sleep(0.001)
    out.write_text(marker)

@step
def pid_of(out: Output):
    out.write_text(str(os.getpid()))

@step
def raises(out: Output):
    print("about to fail", flush=True)
    raise ValueError("bad row 7")

@step
def exits(out: Output):
    print("before os._exit", flush=True)
    os._exit(3)

@step
def segfaults(out: Output):
    print("before the segfault", flush=True)
    ctypes.string_at(0)

@step
def hogs(out: Output):
    print("allocating", flush=True)
    blocks = [bytearray(64 * 1024 * 1024) for _ in range(64)]

@step
def sleeps_then_writes(out: Output, late: str = ""):
    subprocess.Popen(["sh", "-c", f"sleep 2; echo child > {late}.child"])
    time.sleep(2)
    open(late, "w").write("late")

@step
def leaves_a_daemon(out: Output, late: str = ""):
    subprocess.Popen(["sh", "-c", f"sleep 1.5; echo daemon > {late}"], start_new_session=True)
    out.write_text("done")

@step
def daemon_then_sleeps(out: Output, late: str = ""):
    subprocess.Popen(["sh", "-c", f"sleep 2; echo daemon > {late}"], start_new_session=True)
    time.sleep(10)

@step
def waits(out: Output, started: str = ""):
    open(started, "w").write("started")
    time.sleep(30)
'''


class StepProject:
    """A project folder with the steps above, and the calls that run them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "pyproject.toml").write_text("[project]\nname = 'executor-steps'\n")
        (root / "exsteps.py").write_text(textwrap.dedent(STEPS))

    def call(self, name: str, timeout: float | None = None, memory_mb: int | None = None, **params) -> StepCall:
        """A call of step `name` with `params`, fingerprinting its code as it is on disk now."""
        func = resolve_step(f"exsteps:{name}", str(self.root)).func
        code = code_components(func, self.root).sources
        out = self.root / "out" / name
        out.mkdir(parents=True, exist_ok=True)
        return StepCall(step_ref=f"exsteps:{name}", code_root=str(self.root), params=params, inputs={},
                        outputs={"out": str(out / "out")}, log_path=str(out / "step.log"), code=code,
                        timeout=timeout, memory_mb=memory_mb)

    def output(self, name: str) -> str:
        """What step `name` wrote to its output."""
        return (self.root / "out" / name / "out").read_text()

    def log(self, name: str) -> str:
        """What step `name` wrote to its log."""
        return (self.root / "out" / name / "step.log").read_text()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[StepProject]:
    """A fresh project of steps, importable for this test only."""
    made = StepProject(tmp_path / "proj")
    yield made
    sys.modules.pop("exsteps", None)
    if str(made.root) in sys.path:
        sys.path.remove(str(made.root))


@pytest.fixture(params=["fork", "spawn"])
def executor(request: pytest.FixtureRequest) -> Iterator[LocalExecutor]:
    """A local executor whose templates are forks of this process, or fresh interpreters (as under threads)."""
    made = LocalExecutor(start=request.param)
    yield made
    made.close()


@pytest.fixture
def spawning_executor() -> Iterator[LocalExecutor]:
    """A local executor whose templates are fresh interpreters, as in a worker with threads."""
    made = LocalExecutor(start="spawn")
    yield made
    made.close()
