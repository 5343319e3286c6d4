"""Soak: `durapipe serve`'s resident memory after 100 and after 700 runs over HTTP, against an earlier tree.

    git worktree add ../durapipe-before 5a5dd91
    .venv/bin/python bench/run_soak.py --before ../durapipe-before --runs 700

Both serves run the example project (`pipelines/`, its `retrain` pipeline, same parameters) on a
local folder store of their own, with this repository's virtualenv; the `--before` tree's
durapipe is put first on PYTHONPATH, so only durapipe's code differs. The first run trains; every
later run reuses its steps, so what is measured is what serving a run costs the serve process.
RSS is read from /proc (VmRSS) of the serve process itself, not of its workers.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import PYTHON, REPO, machine

KEY = "soak-bench-key-0123456789abcdef"
MARKS = (100, 300, 500, 700)
AT_ONCE = 4


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024


def _serve(tree: Path | None, work: Path) -> tuple[subprocess.Popen, str]:
    project = work / "project"
    shutil.copytree(REPO / "pipelines", project, ignore=shutil.ignore_patterns(".durapipe", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURAPIPE_") and k != "PYTHON_SCRIPT_FILE_NAME"}
    env.update({"DURAPIPE_HOME": str(work / "home"), "DURAPIPE_FUNCTION_KEY": KEY,
                "DURAPIPE_RETRAIN_SCHEDULE": "0 0 3 * * *"})
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    process = subprocess.Popen([str(PYTHON), "-m", "durapipe.cli", "serve", "--port", "0", "--store",
                                str(work / "store"), "--max-parallel", "2"], cwd=project, env=env,
                               stdout=subprocess.PIPE, stderr=open(work / "serve.err", "w"), text=True)
    banner = []
    while not banner or not banner[-1].startswith("Press Ctrl+C"):
        line = process.stdout.readline()
        if not line:
            sys.exit(f"serve exited: {(work / 'serve.err').read_text()[-2000:]}")
        banner.append(line)
    return process, banner[0].split()[-1].rstrip("/")


def _call(method: str, url: str, body: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"x-functions-key": KEY, "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _one_run(base: str) -> str:
    started = _call("POST", f"{base}/api/pipelines/retrain/runs", json.dumps({"parameters": {"C": 0.42}}).encode())
    while True:
        view = _call("GET", started["status_url"])
        if view["status"] in ("completed", "failed", "canceled"):
            return view["status"]
        time.sleep(0.05)


def soak(tree: Path | None, runs: int) -> dict[int, float]:
    """RSS (MB) of one serve after each mark in MARKS up to `runs`."""
    with tempfile.TemporaryDirectory(prefix="durapipe-soak-") as tmp:
        process, base = _serve(tree, Path(tmp))
        figures: dict[int, float] = {}
        try:
            done = 0
            with ThreadPoolExecutor(AT_ONCE) as pool:
                for mark in [m for m in MARKS if m <= runs]:
                    outcomes = list(pool.map(lambda _: _one_run(base), range(mark - done)))
                    if set(outcomes) != {"completed"}:
                        sys.exit(f"runs did not all complete: {sorted(set(outcomes))}")
                    done = mark
                    figures[mark] = _rss_mb(process.pid)
                    print(f"  {mark} runs: {figures[mark]:.1f} MB", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=60)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a work tree of an earlier commit (its durapipe is put on PYTHONPATH)")
    parser.add_argument("--after", help="a work tree to measure instead of this one (default: this repository)")
    parser.add_argument("--runs", type=int, default=700)
    args = parser.parse_args()
    after = Path(args.after).resolve() if args.after else None
    trees = {"after": after} if not args.before else {"before": Path(args.before).resolve(), "after": after}
    rows = {}
    for name, tree in trees.items():
        print(f"{name}:", flush=True)
        rows[name] = soak(tree, args.runs)
    last = max(rows["after"])
    print(f"\n{machine()}\n\n| serve | " + " | ".join(f"RSS after {m} runs" for m in rows["after"])
          + f" | KB a run, 100 to {last} |\n|---|" + "---|" * (len(rows["after"]) + 1))
    for name, figures in rows.items():
        slope = (figures[last] - figures[100]) * 1024 / (last - 100)
        print(f"| {name} | " + " | ".join(f"{figures[m]:.1f} MB" for m in figures) + f" | {slope:.1f} |")


if __name__ == "__main__":
    main()
