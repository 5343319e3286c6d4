"""Workload A: graph overhead of durapipe, DVC and Prefect 3, side by side in the same run.

    .venv/bin/python bench/run_a.py                       # durapipe 50/200/1000, peers 50/200
    .venv/bin/python bench/run_a.py --n 50 --tools durapipe
    .venv/bin/python bench/run_a.py --parallel            # 0.5 s steps, --max-parallel 5, N=50

Each repetition runs, per tool, in a fresh temporary project: cold run, no-change re-run, then
a change of the constant of step (N/10, 0) and a re-run. Repetitions interleave the tools so
the ratios compare runs made under the same machine load. Rows go to bench/results/a-*.jsonl.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload_a as wa  # noqa: E402
from common import DURAPIPE, Results, ensure_peers, fmt, median, timed  # noqa: E402

PHASES = ("cold", "nochange", "change")


class Tool:
    """How one tool sets a project up, runs it and applies the one change."""

    name = ""

    def setup(self, project: Path, n: int) -> None: ...

    def run(self, project: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]: ...

    def change(self, project: Path, n: int) -> None: ...


class Durapipe(Tool):
    name = "durapipe"

    def __init__(self, max_parallel: int | None = None) -> None:
        self.max_parallel = max_parallel

    def setup(self, project: Path, n: int) -> None:
        wa.write_durapipe(project, n)

    def run(self, project: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
        cmd = [str(DURAPIPE), "run", "pipeline.py:workload_a", "--store", str(project / "store"), "--json"]
        if self.max_parallel:
            cmd += ["--max-parallel", str(self.max_parallel)]
        if env.get("BENCH_SLEEP"):
            cmd += ["--param", f"sleep={env['BENCH_SLEEP']}"]
        wall, proc = timed(cmd, project, env)
        out = json.loads(proc.stdout)
        ran = sum(1 for s in out["steps"].values() if s["status"] == "ran")
        return wall, {"reported_ran": ran}

    def change(self, project: Path, n: int) -> None:
        wa.change_durapipe(project, n)


class Dvc(Tool):
    name = "dvc"

    def __init__(self, bin_dir: Path) -> None:
        self.dvc = str(bin_dir / "dvc")
        self.bin_dir = bin_dir

    def setup(self, project: Path, n: int) -> None:
        wa.write_dvc(project, n)
        env = self._env({})
        subprocess.run([self.dvc, "init", "--no-scm", "-q"], cwd=project, check=True, env=env)
        subprocess.run([self.dvc, "config", "core.analytics", "false"], cwd=project, check=True, env=env)

    def _env(self, env: dict[str, str]) -> dict[str, str]:
        import os
        # `python` in the stage commands is the peer venv's, as for a user with it activated.
        return {**os.environ, **env, "PATH": f"{self.bin_dir}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}

    def run(self, project: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
        wall, proc = timed([self.dvc, "repro"], project, self._env(env))
        return wall, {"reported_ran": proc.stdout.count("Running stage")}

    def change(self, project: Path, n: int) -> None:
        wa.change_dvc(project, n)


class Prefect(Tool):
    name = "prefect"

    def __init__(self, bin_dir: Path) -> None:
        self.python = str(bin_dir / "python")

    def setup(self, project: Path, n: int) -> None:
        wa.write_prefect(project, n)

    def run(self, project: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
        env = {**env, "PREFECT_HOME": str(project / ".prefect"), "PREFECT_LOGGING_LEVEL": "WARNING",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
        wall, _ = timed([self.python, "flow.py"], project, env)
        return wall, {}

    def change(self, project: Path, n: int) -> None:
        wa.change_prefect(project, n)


def run_phases(tool: Tool, n: int, rep: int, results: Results, env: dict[str, str]) -> list[dict[str, Any]]:
    """Cold, no-change and one-change runs of `tool` at N in a fresh project."""
    rows = []
    project = Path(tempfile.mkdtemp(prefix=f"bench-a-{tool.name}-{n}-"))
    try:
        tool.setup(project, n)
        log = project / "executed.log"
        for phase in PHASES:
            if phase == "change":
                tool.change(project, n)
            before = _lines(log)
            wall, extra = tool.run(project, {**env, "BENCH_EXEC_LOG": str(log)})
            row = {"kind": "a", "tool": tool.name, "n": n, "rep": rep, "phase": phase, "wall_s": round(wall, 4),
                   "executed": _lines(log) - before,
                   "expected": {"cold": n, "nochange": 0, "change": wa.cone_size(n)}[phase], **extra}
            if env.get("BENCH_SLEEP"):
                row["sleep"] = float(env["BENCH_SLEEP"])
            results.write(row)
            rows.append(row)
            print(f"  {tool.name:8} N={n:<5} rep {rep} {phase:8} {fmt(wall):>9}  executed {row['executed']}",
                  file=sys.stderr, flush=True)
            if env.get("BENCH_SLEEP"):
                break
    finally:
        shutil.rmtree(project, ignore_errors=True)
    return rows


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def table(rows: list[dict[str, Any]], tools: list[str], phases: tuple[str, ...] = PHASES) -> str:
    """Medians per tool, N and phase, and peer/durapipe speed-ups taken pair by pair (same repetition)."""
    peers = [t for t in tools if t != "durapipe"]
    head = ["N", "phase", "executed"] + [f"{t} (median)" for t in tools] + [f"{p}/durapipe" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by = {}
    for r in rows:
        by.setdefault((r["n"], r["phase"], r["tool"]), []).append(r)
    for n in sorted({r["n"] for r in rows}):
        for phase in phases:
            own = by.get((n, phase, "durapipe"), [])
            if not own and not any(by.get((n, phase, t)) for t in tools):
                continue
            executed = "/".join(sorted({str(r["executed"]) for t in tools for r in by.get((n, phase, t), [])}))
            cells = [str(n), phase, f"{executed} (expect {wa.cone_size(n) if phase == 'change' else (n if phase == 'cold' else 0)})"]
            cells += [fmt(median([r["wall_s"] for r in by.get((n, phase, t), [])])) for t in tools]
            for p in peers:
                pairs = {r["rep"]: r["wall_s"] for r in own}
                ratios = [r["wall_s"] / pairs[r["rep"]] for r in by.get((n, phase, p), []) if r["rep"] in pairs]
                cells.append(f"{median(ratios):.1f}x" if ratios else "-")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def overhead_table(rows: list[dict[str, Any]]) -> str:
    """durapipe's per-step overhead by N: cold wall / N, and (cold - no-change) / N (fixed costs removed)."""
    lines = ["| N | cold / N | (cold - no-change) / N | no-change | ratio to N=50 |", "|---|---|---|---|---|"]
    per: dict[int, float] = {}
    for n in sorted({r["n"] for r in rows if r["tool"] == "durapipe"}):
        cold = median([r["wall_s"] for r in rows if r["tool"] == "durapipe" and r["n"] == n and r["phase"] == "cold"])
        same = median([r["wall_s"] for r in rows if r["tool"] == "durapipe" and r["n"] == n and r["phase"] == "nochange"])
        per[n] = (cold - same) / n
        base = per.get(50)
        lines.append(f"| {n} | {cold / n * 1000:.1f} ms | {per[n] * 1000:.1f} ms | {fmt(same)} | "
                     f"{per[n] / base:.2f} |" if base else f"| {n} | {cold / n * 1000:.1f} ms | {per[n] * 1000:.1f} ms | {fmt(same)} | - |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", default="50,200,1000", help="comma-separated N (default 50,200,1000)")
    parser.add_argument("--tools", default="durapipe,dvc,prefect")
    parser.add_argument("--peer-max-n", type=int, default=200, help="run peers only up to this N")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--parallel", action="store_true",
                        help="durapipe only: N=50, every step sleeps 0.5 s, --max-parallel 5, cold run")
    args = parser.parse_args()

    if args.parallel:
        results = Results("a-parallel")
        rows = []
        for rep in range(args.reps):
            rows += run_phases(Durapipe(max_parallel=5), 50, rep, results, {"BENCH_SLEEP": "0.5"})
        wall = median([r["wall_s"] for r in rows])
        critical = wa.layers(50) * 0.5
        summary = {"kind": "a-parallel-summary", "n": 50, "sleep": 0.5, "max_parallel": 5,
                   "median_wall_s": wall, "critical_path_s": critical, "ratio": wall / critical}
        results.write(summary)
        print(f"parallel: median {wall:.2f} s against a critical path of {critical:.1f} s "
              f"({wall / critical:.2f}x)\nresults: {results.path}")
        return

    tools_wanted = args.tools.split(",")
    bin_dir = ensure_peers() if set(tools_wanted) - {"durapipe"} else None
    makers: dict[str, Callable[[], Tool]] = {"durapipe": Durapipe, "dvc": lambda: Dvc(bin_dir),
                                             "prefect": lambda: Prefect(bin_dir)}
    tools = [makers[t]() for t in tools_wanted]
    results = Results("a")
    rows: list[dict[str, Any]] = []
    for n in [int(x) for x in args.n.split(",")]:
        for rep in range(args.reps):
            for tool in tools:
                if tool.name != "durapipe" and n > args.peer_max_n:
                    continue
                rows += run_phases(tool, n, rep, results, {})
    names = [t.name for t in tools]
    text = table(rows, names) + "\n\n" + (overhead_table(rows) if "durapipe" in names else "")
    results.write({"kind": "a-table", "markdown": text})
    print(text)
    print(f"\nresults: {results.path}")


if __name__ == "__main__":
    main()
