"""Step options at run time, through the real CLI and local host: retries and timeouts."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DURAPIPE = str(Path(sys.executable).with_name("durapipe"))

PIPELINE = '''
import os, time
from pathlib import Path
from durapipe import step, pipeline, Input, Output

def _attempt(name):
    log = Path(os.environ["ATTEMPTS_LOG"])
    with log.open("a") as f:
        f.write(name + "\\n")
    return log.read_text().splitlines().count(name)

@step(retries=2, retry_interval=0.2)
def flaky(out: Output):
    if _attempt("flaky") < 3:
        raise RuntimeError("not yet")
    print("flaky made it")
    out.write_text("ok")

@step(retries=1, retry_interval=0.2)
def hopeless(out: Output):
    _attempt("hopeless")
    print("about to break")
    raise ValueError("always broken")

@step(timeout=1)
def slow(out: Output):
    _attempt("slow")
    time.sleep(4)
    out.write_text("late")

@pipeline
def retried():
    return {"out": flaky().out}

@pipeline
def exhausted():
    return {"out": hopeless().out}

@pipeline
def timed_out():
    return {"out": slow().out}
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'options-test'\n")
    (tmp_path / "flows.py").write_text(textwrap.dedent(PIPELINE))
    return tmp_path


def _run(project: Path, target: str) -> tuple[int, dict, str]:
    env = {**os.environ, "ATTEMPTS_LOG": str(project / "attempts.log")}
    env.pop("DURAPIPE_STORE", None)
    done = subprocess.run([DURAPIPE, "run", f"flows.py:{target}", "--json"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout), done.stderr


def _attempts(project: Path, name: str) -> int:
    return (project / "attempts.log").read_text().splitlines().count(name)


def test_a_step_that_fails_twice_succeeds_on_its_third_attempt(project):
    code, run, _ = _run(project, "retried")
    assert code == 0 and run["steps"]["flaky"]["status"] == "ran"
    assert _attempts(project, "flaky") == 3


def test_a_step_that_exhausts_its_retries_fails_the_run_naming_the_step_and_error(project):
    code, run, stderr = _run(project, "exhausted")
    assert code == 1 and run["status"] == "failed"
    assert _attempts(project, "hopeless") == 2
    assert run["steps"]["hopeless"]["status"] == "failed"
    assert "always broken" in run["steps"]["hopeless"]["error"]
    assert run["error"].startswith("step hopeless failed")
    assert "Traceback" not in stderr


def test_a_step_over_its_timeout_fails_with_a_timeout_error(project):
    code, run, _ = _run(project, "timed_out")
    assert code == 1
    assert run["steps"]["slow"]["status"] == "failed"
    assert "timed out after 1 seconds" in run["steps"]["slow"]["error"]


def _logs(project: Path, run_id: str, step: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DURAPIPE_STORE"}
    return subprocess.run([DURAPIPE, "logs", run_id, step], cwd=project, env=env, capture_output=True,
                          text=True, timeout=60)


def test_logs_print_what_a_step_that_ran_printed(project):
    _, run, _ = _run(project, "retried")
    shown = _logs(project, run["run_id"], "flaky")
    assert shown.returncode == 0 and "flaky made it" in shown.stdout


def test_logs_of_a_failed_step_show_its_output_and_traceback(project):
    _, run, _ = _run(project, "exhausted")
    shown = _logs(project, run["run_id"], "hopeless")
    assert shown.returncode == 0
    assert "about to break" in shown.stdout and "ValueError: always broken" in shown.stdout


def test_logs_of_an_unknown_step_exit_2_naming_the_steps(project):
    _, run, _ = _run(project, "retried")
    shown = _logs(project, run["run_id"], "nope")
    assert shown.returncode == 2 and "flaky" in shown.stderr and "Traceback" not in shown.stderr
