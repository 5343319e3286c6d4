"""`durapipe envs list` and `durapipe envs prune` over the project's built step environments."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from durapipe.executors.environments import ensure_environment

DURAPIPE = str(Path(sys.executable).with_name("durapipe"))


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURAPIPE_")}
    return subprocess.run([DURAPIPE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=60)


def _project_with_env(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'envs-test'\n")
    return ensure_environment(["tomli-w==1.0.0"], tmp_path / ".durapipe" / "envs")


def test_envs_list_shows_each_built_environment(tmp_path):
    env = _project_with_env(tmp_path)
    done = _cli(tmp_path, "envs", "list", "--json")
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["hash"] == env.hash and row["requirements"] == ["tomli-w==1.0.0"]


def test_envs_prune_removes_environments_unused_for_the_given_days(tmp_path):
    env = _project_with_env(tmp_path)
    kept = _cli(tmp_path, "envs", "prune", "--json")
    assert json.loads(kept.stdout) == {"removed": []}
    done = _cli(tmp_path, "envs", "prune", "--unused-days", "0", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"removed": [str(env.folder)]}
    assert not env.folder.exists()
