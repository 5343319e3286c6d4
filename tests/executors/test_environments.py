"""Step environments: built once per hash of their requirements with uv, under a lock, pruned when unused."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from durapipe.executors import environments
from durapipe.executors.environments import (
    EnvironmentBuildError,
    ensure_environment,
    list_environments,
    prune_environments,
)

PINNED = ["tomli-w==1.0.0"]


def _version_in(env) -> str:
    done = subprocess.run([str(env.python), "-c", "import importlib.metadata as m; print(m.version('tomli-w'))"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_an_environment_has_exactly_its_requirements(tmp_path):
    env = ensure_environment(PINNED, tmp_path)
    assert _version_in(env) == "1.0.0"


def test_the_same_requirements_reuse_the_built_environment(tmp_path):
    first = ensure_environment(PINNED, tmp_path)
    started = time.monotonic()
    second = ensure_environment(list(reversed(PINNED)), tmp_path)
    assert second.folder == first.folder
    assert time.monotonic() - started < 0.1


def test_concurrent_steps_build_one_environment_once(tmp_path, monkeypatch):
    builds = []
    real_build = environments._build
    monkeypatch.setattr(environments, "_build", lambda env: (builds.append(env.hash), real_build(env)))
    found = []
    threads = [threading.Thread(target=lambda: found.append(ensure_environment(PINNED, tmp_path))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert len({env.folder for env in found}) == 1 and len(found) == 4


def test_a_requirement_that_cannot_be_installed_fails_with_the_installers_message(tmp_path):
    with pytest.raises(EnvironmentBuildError, match="could not be built: .*durapipe-no-such-package-xq"):
        ensure_environment(["durapipe-no-such-package-xq==1.0"], tmp_path)
    assert list_environments(tmp_path) == []


def test_list_names_each_built_environment_with_its_requirements(tmp_path):
    env = ensure_environment(PINNED, tmp_path)
    [listed] = list_environments(tmp_path)
    assert listed["hash"] == env.hash and listed["requirements"] == PINNED and listed["size"] > 0


def test_prune_removes_environments_unused_for_the_given_days(tmp_path):
    env = ensure_environment(PINNED, tmp_path)
    assert prune_environments(tmp_path, unused_days=1) == []
    old = time.time() - 3 * 86400
    os.utime(env.folder / "ready.json", (old, old))
    assert prune_environments(tmp_path, unused_days=1) == [str(env.folder)]
    assert not env.folder.exists()


def test_environments_are_kept_in_the_projects_state_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DURAPIPE_HOME", raising=False)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    assert environments.environments_dir(tmp_path) == tmp_path / ".durapipe" / "envs"


def test_a_read_only_project_keeps_its_environments_in_the_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DURAPIPE_HOME", raising=False)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    monkeypatch.setattr(environments.os, "access", lambda path, mode: False)
    assert environments.environments_dir(tmp_path).name == "durapipe-envs"


BUILD_IN_A_PROCESS = """
import sys
from pathlib import Path
from durapipe.executors import environments
real = environments._build
def counted(env):
    print("built", flush=True)
    real(env)
environments._build = counted
env = environments.ensure_environment(["tomli-w==1.0.0"], Path(sys.argv[1]))
print("ready", env.folder, flush=True)
"""


def test_concurrent_processes_build_one_environment_once(tmp_path):
    processes = [subprocess.Popen([sys.executable, "-c", BUILD_IN_A_PROCESS, str(tmp_path)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err for _, err in outputs]
    lines = [line for out, _ in outputs for line in out.splitlines()]
    assert lines.count("built") == 1
    assert len({line for line in lines if line.startswith("ready ")}) == 1
    assert [env["requirements"] for env in list_environments(tmp_path)] == [PINNED]
