"""Workload B: every step's code in a module of its own, the change a code edit; durapipe, DVC and Prefect in one run.

    .venv/bin/python bench/run_b.py                        # durapipe 50/200/1000 (local and Azurite), peers 50/200
    .venv/bin/python bench/run_b.py --n 50 --tools durapipe --reps 1

Each repetition runs, per tool, in a fresh temporary project: cold run, no-change re-run, then
an edit of the constant in the module of step (N/10, 0) and a re-run. `durapipe-azurite` is
durapipe with its store in Azurite (started here from node_modules). After each durapipe
no-change run, one more no-change run goes through bench/store_calls.py to count the store
operations and HTTP requests it makes (not timed). Rows go to bench/results/b-*.jsonl.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload_a as wa  # noqa: E402
import workload_b as wb  # noqa: E402
from common import BENCH, DURAPIPE, PYTHON, REPO, Results, ensure_peers, fmt, median, timed  # noqa: E402
from run_a import Tool, overhead_table, table  # noqa: E402

# "again" is a second no-change run right after the first: the first follows runs that executed
# steps, so it is planned afresh; the second may be recalled whole (durapipe.engine.plan_memo).
PHASES = ("cold", "nochange", "again", "change")
EXPECTED_NOCHANGE = ("nochange", "again")

AZURITE_BIN = REPO / "node_modules" / ".bin" / "azurite-blob"
AZURITE_ACCOUNT = "devstoreaccount1"


class Durapipe(Tool):
    name = "durapipe"

    def __init__(self, store_url: Callable[[Path], str] | None = None, name: str = "durapipe") -> None:
        self.store_url = store_url or (lambda project: str(project / "store"))
        self.name = name
        self.urls: dict[Path, str] = {}

    def setup(self, project: Path, n: int) -> None:
        wb.write_durapipe(project, n)
        self.urls[project] = self.store_url(project)

    def command(self, project: Path) -> list[str]:
        return ["run", "pipeline.py:workload_b", "--store", self.urls[project], "--json"]

    def run(self, project: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
        wall, proc = timed([str(DURAPIPE), *self.command(project)], project, env)
        out = json.loads(proc.stdout)
        return wall, {"reported_ran": sum(1 for s in out["steps"].values() if s["status"] == "ran")}

    def count_requests(self, project: Path, env: dict[str, str]) -> dict[str, int]:
        counts = project / "store-calls.json"
        timed([str(PYTHON), str(BENCH / "store_calls.py"), str(counts), *self.command(project)], project, env)
        return json.loads(counts.read_text())

    def change(self, project: Path, n: int) -> None:
        wb.change_module(project, n)


class Dvc(Tool):
    name = "dvc"

    def __init__(self, bin_dir: Path) -> None:
        self.dvc, self.bin_dir = str(bin_dir / "dvc"), bin_dir

    def _env(self, env: dict[str, str]) -> dict[str, str]:
        return {**os.environ, **env, "PATH": f"{self.bin_dir}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}

    def setup(self, project: Path, n: int) -> None:
        wb.write_dvc(project, n)
        subprocess.run([self.dvc, "init", "--no-scm", "-q"], cwd=project, check=True, env=self._env({}))
        subprocess.run([self.dvc, "config", "core.analytics", "false"], cwd=project, check=True, env=self._env({}))

    def run(self, project: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
        wall, proc = timed([self.dvc, "repro"], project, self._env(env))
        return wall, {"reported_ran": proc.stdout.count("Running stage")}

    def change(self, project: Path, n: int) -> None:
        wb.change_module(project, n)


class Prefect(Tool):
    name = "prefect"

    def __init__(self, bin_dir: Path) -> None:
        self.python = str(bin_dir / "python")

    def setup(self, project: Path, n: int) -> None:
        wb.write_prefect(project, n)

    def run(self, project: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
        env = {**env, "PREFECT_HOME": str(project / ".prefect"), "PREFECT_LOGGING_LEVEL": "WARNING",
               # Its ephemeral API server needs more than the default 20 s to start on a loaded machine.
               "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
        wall, _ = timed([self.python, "flow.py"], project, env)
        return wall, {}

    def change(self, project: Path, n: int) -> None:
        wb.change_module(project, n)


def run_phases(tool: Tool, n: int, rep: int, results: Results) -> list[dict[str, Any]]:
    """Cold, no-change and one-change runs of `tool` at N in a fresh project (and a counted no-change run)."""
    rows = []
    project = Path(tempfile.mkdtemp(prefix=f"bench-b-{tool.name}-{n}-"))
    # A project of the user's own: durapipe keeps its caches in the project's .durapipe/.
    (project / "pyproject.toml").write_text("[project]\nname = 'bench-b'\n")
    try:
        tool.setup(project, n)
        # As a user's files are: not written within the last two seconds (durapipe does not
        # trust a file's timestamps that recent, and would analyse it again on the next run).
        time.sleep(2.1)
        log = project / "executed.log"
        env = {"BENCH_EXEC_LOG": str(log)}
        for phase in PHASES:
            if phase == "change":
                # A code edit is never made within the same second as the run before it.
                time.sleep(1.0)
                tool.change(project, n)
            before = _lines(log)
            cpu_before = _children_cpu()
            try:
                wall, extra = tool.run(project, env)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                # One tool failing (a peer's server not starting in time) must not lose the run's other figures.
                results.write({"kind": "b-failed", "tool": tool.name, "n": n, "rep": rep, "phase": phase,
                               "error": str(error)[-2000:]})
                print(f"  {tool.name:16} N={n:<5} rep {rep} {phase:8} FAILED: {str(error).splitlines()[0]}",
                      file=sys.stderr, flush=True)
                break
            cpu = _children_cpu() - cpu_before
            row = {"kind": "b", "tool": tool.name, "n": n, "rep": rep, "phase": phase, "wall_s": round(wall, 4),
                   "cpu_s": round(cpu, 4),
                   "executed": _lines(log) - before,
                   "expected": {"cold": n, "nochange": 0, "again": 0, "change": wa.cone_size(n)}[phase], **extra}
            results.write(row)
            rows.append(row)
            print(f"  {tool.name:16} N={n:<5} rep {rep} {phase:8} {fmt(wall):>9} (cpu {fmt(cpu)})  executed {row['executed']}",
                  file=sys.stderr, flush=True)
            if phase == "again" and isinstance(tool, Durapipe) and rep == 0:
                counts = tool.count_requests(project, env)
                results.write({"kind": "b-requests", "tool": tool.name, "n": n, "counts": counts})
                rows.append({"kind": "b-requests", "tool": tool.name, "n": n, "counts": counts})
    finally:
        shutil.rmtree(project, ignore_errors=True)
    return rows


def _children_cpu() -> float:
    # User + system time of the finished child processes (and theirs): less sensitive than wall
    # time to the other work on a shared machine.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def targets(rows: list[dict[str, Any]]) -> str:
    """The issue's targets as ratios from this run (medians), wall and CPU."""
    def med(tool: str, n: int, phase: str, what: str) -> float:
        return median([r[what] for r in rows if r["tool"] == tool and r["n"] == n and r["phase"] == phase])

    def ratio(peer: str, n: int, phase: str, what: str) -> str:
        own = {r["rep"]: r[what] for r in rows if r["tool"] == "durapipe" and r["n"] == n and r["phase"] == phase}
        values = [r[what] / own[r["rep"]] for r in rows
                  if r["tool"] == peer and r["n"] == n and r["phase"] == phase and r["rep"] in own and own[r["rep"]]]
        return f"{median(values):.1f}x" if values else "-"

    lines = ["| target | wall | CPU |", "|---|---|---|"]
    ns = sorted({r["n"] for r in rows if r["tool"] == "durapipe"})
    if 50 in ns and max(ns) > 50:
        top = max(ns)
        for phase in EXPECTED_NOCHANGE:
            lines.append(f"| {phase} N={top} / N=50 (within 2x) | "
                         + " | ".join(f"{med('durapipe', top, phase, w) / med('durapipe', 50, phase, w):.2f}"
                                      for w in ("wall_s", "cpu_s")) + " |")
        per = {w: {n: (med("durapipe", n, "cold", w) - med("durapipe", n, "nochange", w)) / n for n in (50, top)}
               for w in ("wall_s", "cpu_s")}
        lines.append(f"| cold per step N={top} / N=50 (within 1.5x) | "
                     + " | ".join(f"{per[w][top] / per[w][50]:.2f}" for w in ("wall_s", "cpu_s")) + " |")
    for n in (50, 200):
        if any(r["tool"] == "dvc" and r["n"] == n for r in rows):
            want = "5x" if n == 50 else "10x"
            for phase in EXPECTED_NOCHANGE:
                lines.append(f"| {phase} DVC/durapipe N={n} (at least {want}) | "
                             + " | ".join(ratio("dvc", n, phase, w) for w in ("wall_s", "cpu_s")) + " |")
    for n in ns:
        executed = sorted({r["executed"] for r in rows if r["tool"] == "durapipe" and r["n"] == n and r["phase"] == "change"})
        lines.append(f"| one change at N={n}: executed (cone {wa.cone_size(n)}) | {executed} | |")
    return "\n".join(lines)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def requests_table(rows: list[dict[str, Any]]) -> str:
    """Store operations and HTTP requests of one no-change run, by tool and N."""
    lines = ["| store | N | store operations | HTTP requests |", "|---|---|---|---|"]
    for row in rows:
        if row.get("kind") != "b-requests":
            continue
        ops = {k[6:]: v for k, v in row["counts"].items() if k.startswith("store.")}
        http = {k[5:]: v for k, v in row["counts"].items() if k.startswith("http.")}
        print(f"  store calls of a no-change run, {row['tool']} N={row['n']}: {row['counts'].get('calls')}",
              file=sys.stderr)
        where = "Azurite" if row["tool"].endswith("azurite") else "local folder"
        lines.append(f"| {where} | {row['n']} | {sum(ops.values())} ({', '.join(f'{k} {v}' for k, v in ops.items())}) | "
                     f"{sum(http.values()) if http else '-'}"
                     f"{' (' + ', '.join(f'{k} {v}' for k, v in http.items()) + ')' if http else ''} |")
    return "\n".join(lines)


class Azurite:
    """An Azurite blob endpoint for the bench, in memory, on a free port."""

    def __enter__(self) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.folder = Path(tempfile.mkdtemp(prefix="bench-azurite-"))
        self.process = subprocess.Popen(
            [str(AZURITE_BIN), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
             "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Azurite did not start within 30 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", default="50,200,1000", help="comma-separated N (default 50,200,1000)")
    parser.add_argument("--tools", default="durapipe,durapipe-azurite,dvc,prefect")
    parser.add_argument("--peer-max-n", type=int, default=200, help="run peers (and Azurite) only up to this N")
    parser.add_argument("--azurite-max-n", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--from-results", help="print the tables of an earlier run's results/b-*.jsonl instead of running")
    args = parser.parse_args()
    if args.from_results:
        rows = [json.loads(line) for line in Path(args.from_results).read_text().splitlines()]
        rows = [r for r in rows if r.get("kind") in ("b", "b-requests")]
        names = list(dict.fromkeys(r["tool"] for r in rows if r["kind"] == "b"))
        print(render(rows, names))
        return

    wanted = args.tools.split(",")
    bin_dir = ensure_peers() if {"dvc", "prefect"} & set(wanted) else None
    with Azurite() if "durapipe-azurite" in wanted else _Nothing() as azurite:
        makers: dict[str, Callable[[], Tool]] = {
            "durapipe": Durapipe,
            "durapipe-azurite": lambda: Durapipe(lambda project: f"{azurite}/b{uuid.uuid4().hex[:20]}", "durapipe-azurite"),
            "dvc": lambda: Dvc(bin_dir), "prefect": lambda: Prefect(bin_dir)}
        tools = [makers[t]() for t in wanted]
        results = Results("b")
        rows: list[dict[str, Any]] = []
        for n in [int(x) for x in args.n.split(",")]:
            for rep in range(args.reps):
                for tool in tools:
                    if tool.name in ("dvc", "prefect") and n > args.peer_max_n:
                        continue
                    if tool.name == "durapipe-azurite" and n > args.azurite_max_n:
                        continue
                    rows += run_phases(tool, n, rep, results)
    text = render(rows, [t.name for t in tools])
    results.write({"kind": "b-table", "markdown": text})
    print(text)
    print(f"\nresults: {results.path}")


def render(rows: list[dict[str, Any]], names: list[str]) -> str:
    """The Markdown tables of a run's rows."""
    timed_rows = [r for r in rows if r.get("kind") == "b"]
    text = "Wall time\n\n" + table(timed_rows, names, PHASES)
    text += "\n\nCPU time (user + system, the process and its children)\n\n"
    text += table([{**r, "wall_s": r["cpu_s"]} for r in timed_rows], names, PHASES) + "\n\n"
    if "durapipe" in names:
        text += overhead_table(timed_rows) + "\n\n" + targets(timed_rows) + "\n\n"
    return text + requests_table(rows)


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
