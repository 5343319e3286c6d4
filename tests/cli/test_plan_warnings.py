"""`durapipe plan` warns of a local step whose timeout exceeds the function timeout its app deploys with."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

DURAPIPE = str(Path(sys.executable).with_name("durapipe"))

FLOWS = '''
from durapipe import Output, pipeline, step

@step(timeout={timeout})
def long_local(out: Output):
    out.write_text("x")

@step(timeout={timeout}, compute="ray:http://127.0.0.1:8265")
def long_remote(out: Output):
    out.write_text("y")

@step(timeout=60)
def short_local(out: Output):
    out.write_text("z")

@pipeline
def long():
    long_local(); long_remote(); short_local()
'''


def _plan(project: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURAPIPE_")}
    return subprocess.run([DURAPIPE, "plan", "flows.py:long", "--json"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)


def _project(root: Path, timeout: int, host_timeout: str | None) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'long-steps'\n")
    (root / "flows.py").write_text(textwrap.dedent(FLOWS.replace("{timeout}", str(timeout))))
    if host_timeout is not None:
        (root / "host.json").write_text(json.dumps({"version": "2.0", "functionTimeout": host_timeout}))
    return root


def test_plan_warns_of_the_local_step_longer_than_the_projects_function_timeout(tmp_path):
    done = _plan(_project(tmp_path / "p", 900, "00:10:00"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["warnings"] == [
        "Step long_local has timeout=900 s, longer than the function timeout of 600 s in host.json: on Azure it "
        "would be cut off; run it on remote compute (compute=\"ray:http://HOST:8265\" or compute=\"azureml:CLUSTER\")."]
    # Declaring it warned too, at its line (the definition is loaded to plan).
    assert "Step long_local has timeout=900 s" in done.stderr and "flows.py:4" in done.stderr


def test_without_a_host_json_of_its_own_the_deployed_default_of_30_minutes_counts(tmp_path):
    quiet = _plan(_project(tmp_path / "quiet", 900, None))
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["warnings"] == []
    loud = _plan(_project(tmp_path / "loud", 3600, None))
    assert [w.split(",")[0] for w in json.loads(loud.stdout)["warnings"]] == [
        "Step long_local has timeout=3600 s"]
    assert "1800 s in host.json" in json.loads(loud.stdout)["warnings"][0]
