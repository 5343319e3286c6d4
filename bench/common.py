"""Shared bench helpers: paths, timing a command, medians, JSON-lines results, the machine."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
PEERS = BENCH / ".peers"
PEER_VENV = PEERS / "venv"
PEER_PACKAGES = ["dvc==3.67.*", "prefect>=3.4,<4"]
DURAPIPE = REPO / ".venv" / "bin" / "durapipe"
PYTHON = REPO / ".venv" / "bin" / "python"


def ensure_peers() -> Path:
    """Create bench/.peers/venv with DVC and Prefect 3 from PyPI (once); returns its bin folder."""
    bin_dir = PEER_VENV / "bin"
    if not (bin_dir / "dvc").exists() or not (bin_dir / "prefect").exists():
        PEERS.mkdir(parents=True, exist_ok=True)
        if not (bin_dir / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *PEER_PACKAGES], check=True)
    return bin_dir


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
          timeout: float = 1800) -> tuple[float, subprocess.CompletedProcess]:
    """Run `cmd`, returning (wall seconds, completed process); raise when it fails."""
    # Every tool runs as on a user's machine: Python caches bytecode. (This workplace sets
    # PYTHONDONTWRITEBYTECODE, which would recompile each tool's own modules on every start.)
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}) in {cwd}:\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-4000:]}")
    return wall, proc


def median(values: list[float]) -> float:
    """The median (nan for no values)."""
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "memory": mem, "python": platform.python_version(),
            "platform": platform.platform()}


class Results:
    """Appends one JSON object per line to bench/results/<name>-<stamp>.jsonl."""

    def __init__(self, name: str) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        self.path = RESULTS / f"{name}-{stamp}.jsonl"
        self.write({"kind": "machine", **machine()})

    def write(self, row: dict[str, Any]) -> None:
        """Append `row`."""
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")


def fmt(seconds: float) -> str:
    """Seconds, readable at every scale."""
    if seconds != seconds:  # nan
        return "-"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"
