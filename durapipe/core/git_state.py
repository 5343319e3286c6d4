"""The git commit and dirty flag of a project folder, recorded with each run it starts."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

GIT_TIMEOUT_S = 5.0


def git_state(folder: str | Path | None) -> dict[str, Any] | None:
    """{"commit": sha, "dirty": bool} of the git work tree holding `folder`, or None when there is none."""
    if folder is None or shutil.which("git") is None:
        return None
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S)
        if head.returncode != 0:
            return None  # not a repository, or one with no commit yet
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}
