"""Workload F: 20 concurrent `durapipe run` of one pipeline on one store; how many times each step executed.

    .venv/bin/python bench/run_f.py                                   # local folder and Azurite, 3 reps
    .venv/bin/python bench/run_f.py --before ../durapipe-before --reps 3

The pipeline has three steps, `s1` then `s2` and `s3` on its output, each sleeping
`--step-seconds` (default 2). Every repetition writes a fresh project, starts `--runs` (20)
`durapipe run pipeline.py:racing --store URL --json` at once on one new store (a local folder,
or a new container in Azurite started here), waits for all, and counts the lines each step body
appended to `$BENCH_EXEC_LOG`: with a lease on each fingerprint every step executes once, and
the other runs wait for its commit and reuse it.

`--before` is a folder holding an earlier durapipe (for example `git archive <commit> | tar -x -C
DIR`): its runs go through this `.venv` with `PYTHONPATH=DIR`, so they import that durapipe.
`--cold-n N` also times one cold run of workload A with N steps alone on each store, before and
after interleaved, for what the lease costs a step that nobody else computes (two more store
requests: its conditional create and delete). Rows go to bench/results/f-*.jsonl.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from textwrap import dedent
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload_a as wa  # noqa: E402
from common import DURAPIPE, Results, fmt, median  # noqa: E402
from run_b import Azurite  # noqa: E402

STEPS = ("s1", "s2", "s3")

PIPELINE = dedent('''\
    import os
    import time

    from durapipe import Input, Output, pipeline, step

    SECONDS = {seconds!r}


    def _executed(name):
        with open(os.environ["BENCH_EXEC_LOG"], "a") as log:
            log.write(name + "\\n")
        time.sleep(SECONDS)


    @step
    def s1(out: Output):
        _executed("s1")
        out.write_text("one")


    @step
    def s2(src: Input, out: Output):
        _executed("s2")
        out.write_text(src.read_text() + " two")


    @step
    def s3(src: Input, out: Output):
        _executed("s3")
        out.write_text(src.read_text() + " three")


    @pipeline
    def racing():
        first = s1().out
        return {{"two": s2(src=first).out, "three": s3(src=first).out}}
    ''')


def _project(seconds: float) -> Path:
    project = Path(tempfile.mkdtemp(prefix="bench-f-"))
    (project / "pyproject.toml").write_text("[project]\nname = 'racing'\n")
    (project / "pipeline.py").write_text(PIPELINE.format(seconds=seconds))
    # A project a person edits is older than 2 s (durapipe does not trust a younger file's signature).
    old = time.time() - 5
    for path in project.iterdir():
        os.utime(path, (old, old))
    return project


def _race(project: Path, store_url: str, runs: int, before: Path | None) -> dict[str, Any]:
    """Start `runs` runs at once on one store; their executions per step, statuses and times."""
    executions = project / "executions.log"
    executions.touch()
    env = _env(before, executions)
    command = [str(DURAPIPE), "run", "pipeline.py:racing", "--store", store_url, "--json"]
    started = time.perf_counter()
    processes = [subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(runs)]
    walls, failed, statuses = [], 0, collections.Counter()
    for process in processes:
        out, err = process.communicate(timeout=900)
        walls.append(time.perf_counter() - started)
        if process.returncode != 0:
            failed += 1
            print(f"a run failed ({process.returncode}): {err.strip()[-500:]}", file=sys.stderr)
            continue
        try:
            document = json.loads(out)
            for name, step in (document.get("steps") or {}).items():
                statuses[f"{name}:{step.get('status')}"] += 1
        except (ValueError, AttributeError):
            pass
    counts = collections.Counter(executions.read_text().split())
    return {"executions": {name: counts.get(name, 0) for name in STEPS}, "failed": failed,
            "wall_s": max(walls), "median_run_s": median(walls), "statuses": dict(statuses)}


def _env(before: Path | None, executions: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("DURAPIPE_")}
    env["BENCH_EXEC_LOG"] = str(executions)
    if before is not None:
        env["PYTHONPATH"] = str(before)
    return env


def _cold(n: int, store_url: str | None, before: Path | None) -> dict[str, Any]:
    """One cold `durapipe run` of workload A with `n` steps, alone: its wall time and executed steps."""
    project = Path(tempfile.mkdtemp(prefix="bench-f-cold-"))
    wa.write_durapipe(project, n)
    executions = project / "executions.log"
    executions.touch()
    command = [str(DURAPIPE), "run", "pipeline.py:workload_a", "--store", store_url or str(project / "store"), "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=_env(before, executions), capture_output=True, text=True,
                          timeout=1800)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the cold run failed ({done.returncode}) in {project}:\n{done.stderr[-2000:]}")
    return {"wall_s": wall, "executed": len(executions.read_text().split())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--step-seconds", type=float, default=2.0)
    parser.add_argument("--stores", default="local,azurite")
    parser.add_argument("--before", type=Path, help="a folder holding an earlier durapipe package, run as 'before'")
    parser.add_argument("--cold-n", type=int, default=0, help="also time a cold run of workload A with N steps (0: no)")
    parser.add_argument("--skip-race", action="store_true", help="only the cold runs")
    args = parser.parse_args()
    variants: list[tuple[str, Path | None]] = [("after", None)]
    if args.before:
        variants.insert(0, ("before", args.before.resolve()))
    stores = args.stores.split(",")
    results = Results("f")
    rows: list[dict[str, Any]] = []
    with Azurite() if "azurite" in stores else _Nothing() as azurite:
        for rep in range(args.reps if not args.skip_race else 0):
            for store in stores:
                for variant, before in variants:
                    project = _project(args.step_seconds)
                    url = str(project / "store") if store == "local" else f"{azurite}/f{uuid.uuid4().hex[:20]}"
                    row = {"kind": "race", "rep": rep, "store": store, "variant": variant, "runs": args.runs,
                           "step_seconds": args.step_seconds, "load": os.getloadavg()[0],
                           **_race(project, url, args.runs, before)}
                    results.write(row)
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
        for rep in range(args.reps if args.cold_n else 0):
            for store in stores:
                for variant, before in (variants if rep % 2 == 0 else variants[::-1]):
                    url = None if store == "local" else f"{azurite}/c{uuid.uuid4().hex[:20]}"
                    row = {"kind": "cold", "rep": rep, "store": store, "variant": variant, "n": args.cold_n,
                           "load": os.getloadavg()[0], **_cold(args.cold_n, url, before)}
                    results.write(row)
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
    print(table([r for r in rows if r["kind"] == "race"]))
    if args.cold_n:
        print()
        print(cold_table([r for r in rows if r["kind"] == "cold"]))
    print(f"\nresults: {results.path}")


def table(rows: list[dict[str, Any]]) -> str:
    """Executions per step (median, and range over repetitions) and wall time of all runs, per store and variant."""
    lines = ["| store | variant | runs | " + " | ".join(f"{s} executed" for s in STEPS)
             + " | failed runs | wall (all runs, median) |", "|---|---|---|" + "---|" * len(STEPS) + "---|---|"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        groups[(row["store"], row["variant"])].append(row)
    for (store, variant), group in groups.items():
        cells = []
        for step in STEPS:
            values = sorted(r["executions"][step] for r in group)
            cells.append(f"{median(values):g} ({values[0]}-{values[-1]})" if len(values) > 1 else str(values[0]))
        lines.append(f"| {'Azurite' if store == 'azurite' else 'local folder'} | {variant} | {group[0]['runs']} | "
                     + " | ".join(cells) + f" | {sum(r['failed'] for r in group)} | "
                     f"{fmt(median([r['wall_s'] for r in group]))} |")
    return "\n".join(lines)


def cold_table(rows: list[dict[str, Any]]) -> str:
    """Wall time of a cold run alone (median and range), per store and variant."""
    lines = ["| store | variant | N | executed | cold wall, median (range) | per step |", "|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        groups[(row["store"], row["variant"])].append(row)
    for (store, variant), group in sorted(groups.items()):
        walls = sorted(r["wall_s"] for r in group)
        lines.append(f"| {'Azurite' if store == 'azurite' else 'local folder'} | {variant} | {group[0]['n']} | "
                     f"{group[0]['executed']} | {fmt(median(walls))} ({fmt(walls[0])}-{fmt(walls[-1])}) | "
                     f"{1000 * median(walls) / group[0]['n']:.1f} ms |")
    return "\n".join(lines)


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
