"""Which processes a `durapipe run` starts: a run that reuses every step of a remembered pipeline starts none.

The driver makes itself the subreaper of what it runs, so a process the command started and
left (the worker fork server, which ends once the command has) is reaped, and counted, by it.
"""
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.cli.test_exit import PIPELINE  # flows.py:greet, one step

DURAPIPE = str(Path(sys.executable).with_name("durapipe"))

DRIVER = """\
import ctypes, json, os, subprocess, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
left, deadline = 0, time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:  # no process of the command's is left
        break
    if pid:
        left += 1
    else:
        time.sleep(0.05)
print(json.dumps({"rc": done.returncode, "left": left, "stdout": done.stdout, "stderr": done.stderr[-3000:]}))
"""

WITH_INPUT = '''
from durapipe import step, pipeline, Input, Output

@step
def size(data: Input, out: Output):
    out.write_text(str(len(data.read_bytes())))

@pipeline
def measure(data: Input):
    return {"out": size(data=data).out}
'''


def _run(project: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DURAPIPE_STORE", "DURAPIPE_DEBUG")}
    done = subprocess.run([sys.executable, "-c", DRIVER, DURAPIPE, "run", *(args or ("flows.py:greet",)), "--json"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rc"] == 0, result["stderr"]
    return {**result, "statuses": {k: v["status"] for k, v in json.loads(result["stdout"])["steps"].items()}}


def test_a_run_that_reuses_every_step_of_a_remembered_pipeline_starts_no_process(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'processes-test'\n")
    (tmp_path / "flows.py").write_text(textwrap.dedent(PIPELINE))
    time.sleep(2.1)  # older than the two seconds within which a file's signature is not trusted
    cold = _run(tmp_path)
    assert cold["statuses"] == {"hello": "ran"}
    assert cold["left"] >= 1  # the worker fork server: the driver sees what a run starts
    unchanged = _run(tmp_path)
    assert unchanged["statuses"] == {"hello": "reused"}
    assert unchanged["left"] == 0
    # An edit of the pipeline's file makes it imported again, and the fork server starts before
    # that import (to overlap it), even though this run too reuses its step.
    (tmp_path / "flows.py").write_text(textwrap.dedent(PIPELINE) + "\n# edited\n")
    edited = _run(tmp_path)
    assert edited["statuses"] == {"hello": "reused"}
    assert edited["left"] >= 1


def test_a_run_given_inputs_starts_the_fork_server_at_once(tmp_path):
    # Its inputs may be new data under the same path, so the server's start overlaps the run's own.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'processes-test'\n")
    (tmp_path / "flows.py").write_text(textwrap.dedent(WITH_INPUT))
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    time.sleep(2.1)
    assert _run(tmp_path, "flows.py:measure", "--input", "data=data.csv")["statuses"] == {"size": "ran"}
    again = _run(tmp_path, "flows.py:measure", "--input", "data=data.csv")
    assert again["statuses"] == {"size": "reused"}
    assert again["left"] >= 1


def test_a_run_that_runs_a_step_leaves_no_template_folder_in_the_temp_folder(tmp_path):
    project, temp = tmp_path / "project", tmp_path / "temp"
    project.mkdir()
    temp.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'processes-test'\n")
    (project / "flows.py").write_text(textwrap.dedent(PIPELINE))
    env = {k: v for k, v in os.environ.items() if k not in ("DURAPIPE_STORE", "DURAPIPE_DEBUG")}
    # The driver returns once the command and every process it started have ended (or after 10 s).
    done = subprocess.run([sys.executable, "-c", DRIVER, DURAPIPE, "run", "flows.py:greet", "--json"],
                          cwd=project, env={**env, "TMPDIR": str(temp)}, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rc"] == 0, result["stderr"]
    assert json.loads(result["stdout"])["steps"]["hello"]["status"] == "ran"
    assert sorted(p.name for p in temp.glob("durapipe-tpl-*")) == []


def test_a_run_sweeps_the_template_folder_of_a_killed_process_and_keeps_a_live_ones(tmp_path):
    project, temp = tmp_path / "project", tmp_path / "temp"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'processes-test'\n")
    (project / "flows.py").write_text(textwrap.dedent(PIPELINE))
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid names no process now, as a template killed with SIGKILL
    for name, pid in (("durapipe-tpl-killed", gone.pid), ("durapipe-tpl-live", os.getpid())):
        (temp / name).mkdir(parents=True)
        (temp / name / "pid").write_text(str(pid))
    env = {k: v for k, v in os.environ.items() if k not in ("DURAPIPE_STORE", "DURAPIPE_DEBUG")}
    done = subprocess.run([sys.executable, "-c", DRIVER, DURAPIPE, "run", "flows.py:greet", "--json"],
                          cwd=project, env={**env, "TMPDIR": str(temp)}, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rc"] == 0, done.stdout
    assert sorted(p.name for p in temp.glob("durapipe-tpl-*")) == ["durapipe-tpl-live"]
