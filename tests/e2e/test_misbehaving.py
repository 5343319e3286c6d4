"""Misbehaving steps under `durapipe run`: each fails alone with a sentence, what must die dies, the rest runs."""
from __future__ import annotations

import time
from textwrap import dedent
from typing import Any

import pytest

from tests.e2e.conftest import Project, new_project, run_cli, step_statuses

TARGET = "flow.py:misbehave"

# A pipeline of independent steps, one per way a step can go wrong, and one that behaves.
MISBEHAVE = dedent('''\
    import ctypes, os, subprocess, time
    from durapipe import Output, pipeline, step

    MARKS = os.environ["MARKS"]

    @step
    def exits(out: Output):
        print("exits: before", flush=True)
        os._exit(3)

    @step
    def segfaults(out: Output):
        print("segfaults: before", flush=True)
        ctypes.string_at(0)

    @step
    def hogs(out: Output):
        blocks = [bytearray(64 * 1024 * 1024) for _ in range(64)]

    @step(timeout=1)
    def oversleeps(out: Output):
        print("oversleeps: before", flush=True)
        time.sleep(4)
        open(os.path.join(MARKS, "late"), "w").write("late")

    @step
    def leaks(out: Output):
        subprocess.Popen(["sh", "-c", f"sleep 3; echo leaked > {MARKS}/leaked"], start_new_session=True)
        out.write_text("leaked a daemon")

    @step
    def behaves(out: Output):
        out.write_text("fine")

    @pipeline
    def misbehave():
        exits(); segfaults(); hogs(); oversleeps(); leaks(); behaves()
    ''')


@pytest.fixture(scope="module")
def misbehaved(tmp_path_factory) -> dict[str, Any]:
    """One run of the pipeline above, with a memory limit for each step, and the marks folder."""
    base = tmp_path_factory.mktemp("misbehave")
    marks = base / "marks"
    marks.mkdir()
    project: Project = new_project(base / "project", None, MISBEHAVE)
    env = {**project.env, "MARKS": str(marks), "DURAPIPE_STEP_MEMORY_MB": "400"}
    done = run_cli(["run", TARGET, "--max-parallel", "6", "--json"], project.root, env)
    time.sleep(4.5)  # longer than the late write and the daemon would take
    return {"run": done, "marks": marks, "project": project, "env": env}


def _error(misbehaved: dict[str, Any], step: str) -> str:
    return misbehaved["run"].json["steps"][step]["error"]


def test_only_the_misbehaving_steps_fail(misbehaved):
    done = misbehaved["run"]
    assert done.code == 1, done.stderr
    assert step_statuses(done.json) == {"exits": "failed", "segfaults": "failed", "hogs": "failed",
                                        "oversleeps": "failed", "leaks": "ran", "behaves": "ran"}


def test_os_exit_is_reported_with_its_exit_code(misbehaved):
    assert "exit code 3" in _error(misbehaved, "exits")


def test_a_segfault_is_reported_with_its_signal(misbehaved):
    assert "signal SIGSEGV" in _error(misbehaved, "segfaults")


def test_an_exhausted_memory_limit_is_reported(misbehaved):
    assert "ran out of memory (its limit is 400 MB)" in _error(misbehaved, "hogs")


def test_a_step_past_its_timeout_never_writes_its_late_file(misbehaved):
    assert "timed out after 1 seconds" in _error(misbehaved, "oversleeps")
    assert not (misbehaved["marks"] / "late").exists()


def test_a_daemon_left_by_a_step_does_not_outlive_it(misbehaved):
    assert not (misbehaved["marks"] / "leaked").exists()


def test_the_log_of_a_crashed_step_is_kept_up_to_the_crash(misbehaved):
    done = run_cli(["logs", misbehaved["run"].json["run_id"], "segfaults"], misbehaved["project"].root,
                   misbehaved["env"])
    assert done.code == 0, done.stderr
    assert "segfaults: before" in done.stdout
    assert "Segmentation fault" in done.stdout


def test_the_log_of_a_step_killed_at_its_timeout_is_linked_from_its_error(misbehaved):
    assert "(log artifact " in _error(misbehaved, "oversleeps")
    done = run_cli(["logs", misbehaved["run"].json["run_id"], "oversleeps"], misbehaved["project"].root,
                   misbehaved["env"])
    assert done.code == 0, done.stderr
    assert "oversleeps: before" in done.stdout
