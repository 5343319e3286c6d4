"""Workload E: what a step costs through the executor, against the commit before it, in the same run.

    .venv/bin/python bench/run_e.py --before ../durapipe-before --n 200 --reps 5

`--before` is a work tree of the commit before the executor (the first parent of "Merge
executors"), with its own `.venv` (`pip install -e .` there). Each repetition runs, in an order
that rotates per repetition, workload A cold and then unchanged in a fresh project with:

- before: the `--before` tree's durapipe, default steps (each step inside its activity);
- after: this tree's durapipe, default steps (each step in a runner process of its own);
- after-env: this tree, every step in a custom environment (`tomli-w==1.0.0`), already built
  (a warm-up builds it once; each fresh project's `.durapipe/envs` links to it).

Each row has wall time, CPU time (user + system of the command and every process it started:
this process is their subreaper and reaps them) and the load average when the run began.
Per-step cost is (cold - no-change) / N: planning, start-up and recording cancel out.
Rows go to bench/results/e-*.jsonl.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload_a as wa  # noqa: E402
from common import DURAPIPE, Results, median  # noqa: E402

ENVIRONMENT = '@step(environment=["tomli-w==1.0.0"])\n'
_PR_SET_CHILD_SUBREAPER = 36


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _reap() -> None:
    """Wait for the processes a run left behind (they are ours as subreaper), so their CPU time counts."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def _run(durapipe: Path, project: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, 1-minute load average at the start) of one `durapipe run` of workload A."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("DURAPIPE_")}
    load = os.getloadavg()[0]
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([str(durapipe), "run", "pipeline.py:workload_a", "--store", str(project / "store"), "--json"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    _reap()
    if done.returncode != 0:
        raise RuntimeError(f"{durapipe} run failed ({done.returncode}) in {project}:\n{done.stderr[-4000:]}")
    return wall, _children_cpu() - cpu, load


def _project(n: int, with_env: bool, envs: Path) -> Path:
    project = Path(tempfile.mkdtemp(prefix="bench-e-"))
    wa.write_durapipe(project, n)
    if with_env:
        steps = project / "steps.py"
        steps.write_text(steps.read_text().replace("@step\n", ENVIRONMENT))
        (project / ".durapipe").mkdir()
        (project / ".durapipe" / "envs").symlink_to(envs)
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="work tree of the commit before the executor, with .venv")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    before = Path(args.before).resolve() / ".venv" / "bin" / "durapipe"
    if not before.exists():
        sys.exit(f"{before} is missing: run `python3.11 -m venv .venv && .venv/bin/pip install -e .` in {args.before}.")
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    commits = {name: subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True,
                                    text=True).stdout.strip()
               for name, tree in (("before", Path(args.before)), ("after", DURAPIPE.parents[2]))}
    variants = {"before": (before, False), "after": (DURAPIPE, False), "after-env": (DURAPIPE, True)}
    results = Results("e")
    results.write({"kind": "e-commits", **commits})
    envs = Path(tempfile.mkdtemp(prefix="bench-e-envs-"))
    try:
        warm = _project(10, True, envs)  # builds the environment once, untimed
        _run(DURAPIPE, warm)
        shutil.rmtree(warm, ignore_errors=True)
        rows: list[dict[str, Any]] = []
        names = list(variants)
        for rep in range(args.reps):
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                durapipe, with_env = variants[name]
                project = _project(args.n, with_env, envs)
                try:
                    for phase in ("cold", "nochange"):
                        wall, cpu, load = _run(durapipe, project)
                        row = {"kind": "e", "variant": name, "n": args.n, "rep": rep, "phase": phase,
                               "wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "load1": round(load, 2)}
                        results.write(row)
                        rows.append(row)
                        print(f"  {name:9} rep {rep} {phase:8} wall {wall:6.2f} s  cpu {cpu:6.2f} s  load {load:.1f}",
                              file=sys.stderr, flush=True)
                finally:
                    shutil.rmtree(project, ignore_errors=True)
    finally:
        shutil.rmtree(envs, ignore_errors=True)
    text = table(rows, args.n, commits)
    results.write({"kind": "e-table", "markdown": text})
    print(text + f"\n\nresults: {results.path}")


def table(rows: list[dict[str, Any]], n: int, commits: dict[str, str]) -> str:
    """Medians per variant and phase, per-step costs, and the ratios the issue sets targets for."""
    def med(variant: str, phase: str, what: str) -> float:
        return median([r[what] for r in rows if r["variant"] == variant and r["phase"] == phase])

    lines = [f"before = {commits['before']}, after = {commits['after']}, N = {n}, "
             f"load average {min(r['load1'] for r in rows):.1f}-{max(r['load1'] for r in rows):.1f}", "",
             "| variant | cold wall | cold CPU | no-change wall | per step, wall | per step, CPU |",
             "|---|---|---|---|---|---|"]
    per: dict[str, dict[str, float]] = {}
    for variant in ("before", "after", "after-env"):
        per[variant] = {w: (med(variant, "cold", w) - med(variant, "nochange", w)) / n for w in ("wall_s", "cpu_s")}
        lines.append(f"| {variant} | {med(variant, 'cold', 'wall_s'):.2f} s | {med(variant, 'cold', 'cpu_s'):.2f} s | "
                     f"{med(variant, 'nochange', 'wall_s'):.2f} s | {per[variant]['wall_s'] * 1000:.1f} ms | "
                     f"{per[variant]['cpu_s'] * 1000:.1f} ms |")
    pairs = {(r["rep"], r["variant"]): r for r in rows if r["phase"] == "cold"}
    ratios = sorted(pairs[(rep, "after")]["wall_s"] / pairs[(rep, "before")]["wall_s"]
                    for rep, v in pairs if v == "before" and (rep, "after") in pairs)
    lines += ["",
              f"- cold after / before, median of the medians: "
              f"{med('after', 'cold', 'wall_s') / med('before', 'cold', 'wall_s'):.2f}x wall, "
              f"{med('after', 'cold', 'cpu_s') / med('before', 'cold', 'cpu_s'):.2f}x CPU (target 1.25x); "
              f"per repetition: {', '.join(f'{x:.2f}x' for x in ratios)}",
              f"- a step in a cached custom environment costs "
              f"{(per['after-env']['wall_s'] - per['after']['wall_s']) * 1000:+.1f} ms wall, "
              f"{(per['after-env']['cpu_s'] - per['after']['cpu_s']) * 1000:+.1f} ms CPU more than a default step "
              f"(target: under 100 ms)"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
