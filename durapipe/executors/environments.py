"""Step environments: one virtual environment per hash of a step's requirements, built once with uv.

They live in the host's state folder ($DURAPIPE_HOME/envs, else the project's .durapipe/envs),
one folder per hash. A build runs under a file lock, so steps in other threads or processes
that need the same environment wait for it instead of building it again; a folder counts only
once its build finished (a `ready` file), so a crash mid-build is rebuilt, never used.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import filelock

from durapipe.core.errors import DurapipeError
from durapipe.fingerprint.environment import environment_identity
from durapipe.core.paths import state_dir

ENVS_FOLDER = "envs"
_READY = "ready.json"
_BUILD_TIMEOUT_S = 1800


class EnvironmentBuildError(DurapipeError):
    """A step's requirements could not be installed; the message is the installer's."""


@dataclass(frozen=True)
class StepEnvironment:
    """A built environment: its hash, folder, interpreter and requirement lines."""

    hash: str
    folder: Path
    requirements: tuple[str, ...]

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.folder / "bin" / "python"


def environments_dir(code_root: str | Path | None) -> Path:
    """Where step environments are kept: $DURAPIPE_HOME/envs, else the project's .durapipe/envs.

    When the project folder cannot be written (an app run from a read-only package, as on
    Azure), the temporary folder's durapipe-envs instead.
    """
    home = os.environ.get("DURAPIPE_HOME")
    if home:
        return Path(home) / ENVS_FOLDER
    state = state_dir(code_root)
    if os.access(state if state.exists() else state.parent, os.W_OK):
        return state / ENVS_FOLDER
    return Path(tempfile.gettempdir()) / "durapipe-envs"


def ensure_environment(requirements: list[str] | tuple[str, ...], folder: Path) -> StepEnvironment:
    """The environment of `requirements` in `folder`, built now (once, under a lock) if it is not yet."""
    identity = environment_identity(requirements)
    env = StepEnvironment(identity["hash"], folder / identity["hash"][:32], tuple(identity["requirements"]))
    if (env.folder / _READY).is_file():
        return env
    folder.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(folder / f"{env.folder.name}.lock")):
        if not (env.folder / _READY).is_file():
            _build(env)
    return env


def _build(env: StepEnvironment) -> None:
    import uv

    shutil.rmtree(env.folder, ignore_errors=True)  # what a build that died half-way left
    uv_bin = uv.find_uv_bin()
    base_python = getattr(sys, "_base_executable", sys.executable)
    started = time.monotonic()
    _uv([uv_bin, "venv", "--quiet", "--python", base_python, str(env.folder)], env)
    requirements = env.folder / "requirements.txt"
    requirements.write_text("\n".join(env.requirements) + "\n")
    _uv([uv_bin, "pip", "install", "--quiet", "--python", str(env.python), "-r", str(requirements)], env)
    ready = {"hash": env.hash, "requirements": list(env.requirements),
             "built": datetime.now(timezone.utc).isoformat(), "build_s": round(time.monotonic() - started, 3)}
    (env.folder / _READY).write_text(json.dumps(ready, indent=1))


def _uv(command: list[str], env: StepEnvironment) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(f"Building the environment [{', '.join(env.requirements)}] took over "
                                    f"{_BUILD_TIMEOUT_S // 60} minutes and was stopped.") from None
    if done.returncode != 0:
        shutil.rmtree(env.folder, ignore_errors=True)
        message = " ".join((done.stderr or done.stdout).split())
        raise EnvironmentBuildError(f"The environment [{', '.join(env.requirements)}] could not be built: "
                                    f"{message}")


def list_environments(folder: Path) -> list[dict]:
    """Each built environment in `folder`: hash, requirements, when built, size in bytes, last used."""
    found = []
    if not folder.is_dir():
        return found
    for entry in sorted(folder.iterdir()):
        ready = entry / _READY
        if not entry.is_dir() or not ready.is_file():
            continue
        info = json.loads(ready.read_text())
        info["folder"] = str(entry)
        info["size"] = sum(f.stat().st_size for f in entry.rglob("*") if f.is_file() and not f.is_symlink())
        info["last_used"] = datetime.fromtimestamp(ready.stat().st_mtime, timezone.utc).isoformat()
        found.append(info)
    return found


def mark_used(env: StepEnvironment) -> None:
    """Note that `env` was used now (what `prune` goes by)."""
    try:
        os.utime(env.folder / _READY)
    except OSError:
        pass


def prune_environments(folder: Path, unused_days: float) -> list[str]:
    """Remove environments not used for `unused_days` days, and unfinished builds; return the removed folders."""
    removed = []
    if not folder.is_dir():
        return removed
    cutoff = time.time() - unused_days * 86400
    for entry in sorted(folder.iterdir()):
        if not entry.is_dir():
            continue
        ready = entry / _READY
        lock = filelock.FileLock(str(folder / f"{entry.name}.lock"))
        try:
            lock.acquire(timeout=0)  # one being built or by another process now is left alone
        except filelock.Timeout:
            continue
        try:
            if not ready.is_file() or ready.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(str(entry))
        finally:
            lock.release()
    return removed
