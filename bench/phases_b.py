"""Where a no-change run of workload B spends its CPU: thread CPU time of each phase, at several N.

    .venv/bin/python bench/phases_b.py                 # N=50,1000, 5 measured no-change runs each
    .venv/bin/python bench/phases_b.py --n 50,200 --reps 3
    .venv/bin/python bench/phases_b.py --after-change   # the first no-change run after a code edit
    .venv/bin/python bench/phases_b.py --n 1000 --reps 1 --profile /tmp/plan.prof  # and where planning goes

For each N a fresh project (bench/workload_b.py) gets a cold run, one unmeasured no-change run
(which fills the definition cache and the plan memo for this command line), then `--reps`
measured no-change runs (with `--after-change`, each right after an edit of workload B's changed
module and an unmeasured run of that change: the first no-change run, planned without a memo),
each a fresh process that runs the `durapipe run ... --json` command
with timers around these functions (thread CPU time of the thread that calls them, summed):

- `definition`: durapipe.load.definition_cache.load_definition (the pipeline's spec, from the cache or built);
- `spec check`: durapipe.model.spec._read_spec (checking a spec's JSON, inside the definition and the plan);
- `planning`: durapipe.engine.plan.plan_run (the plan activity);
- `episodes`: durapipe.host.local_host.run_episode (the SDK replaying the orchestrator's history);
- `recording`: durapipe.engine.record_run.record_run (the record activity);
- `process`: the whole process's user + system CPU; `rest` is process minus the phases above
  (the interpreter, imports, the CLI, the host's threads between calls).

`spec check` runs inside `definition` and `planning`, so it is not subtracted twice.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PHASES = {
    "definition": ("durapipe.load.definition_cache", "load_definition"),
    "spec check": ("durapipe.model.spec", "_read_spec"),
    "planning": ("durapipe.engine.plan", "plan_run"),
    "episodes": ("durapipe.host.local_host", "run_episode"),
    "recording": ("durapipe.engine.record_run", "record_run"),
}
NESTED = {"spec check"}  # counted inside other phases
PROFILE_ENV = "DURAPIPE_PHASES_PROFILE"


def child(out: str, args: list[str]) -> None:
    """Run the durapipe command in this process with timers around PHASES; write the sums to `out`."""
    import atexit
    import importlib
    from collections import Counter

    spent: Counter[str] = Counter()

    for phase, (module_name, attr) in PHASES.items():
        module = importlib.import_module(module_name)
        original = getattr(module, attr)

        def timed_call(*a, __original=original, __phase=phase, **k):
            start = time.thread_time()
            try:
                return __original(*a, **k)
            finally:
                spent[__phase] += time.thread_time() - start

        setattr(module, attr, timed_call)
    profile_to = os.environ.get(PROFILE_ENV)
    if profile_to:  # a cProfile of planning (thread CPU time), for pstats
        import cProfile
        import durapipe.engine.plan as plan

        profiler, planned = cProfile.Profile(time.thread_time), plan.plan_run

        def profiled(*a, **k):
            profiler.enable()
            try:
                return planned(*a, **k)
            finally:
                profiler.disable()
                profiler.dump_stats(profile_to)
        plan.plan_run = profiled

    def write() -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        Path(out).write_text(json.dumps({**spent, "process": usage.ru_utime + usage.ru_stime}))

    atexit.register(write)
    from durapipe.cli.main import entry
    sys.argv = ["durapipe", *args]
    entry()


def measure(n: int, reps: int, after_change: bool = False, profile: str | None = None) -> dict[str, float]:
    import workload_b as wb
    from common import DURAPIPE, PYTHON, median, timed

    with tempfile.TemporaryDirectory(prefix=f"durapipe-phases-{n}-") as tmp:
        project = Path(tmp)
        wb.write_durapipe(project, n)
        command = ["run", "pipeline.py:workload_b", "--store", str(project / "store"), "--json"]
        timed([str(DURAPIPE), *command], project)
        rows = []
        # The same environment for every child: the definition cache keys on it.
        env = {PROFILE_ENV: f"{profile}.{n}.last"} if profile else None
        for rep in range(reps + 1):
            counts = project / "phases.json"
            if after_change:  # through this harness too: the definition cache keys on the command line
                wb.change_module(project, n)
                time.sleep(2.1)  # as a user's edit is: durapipe does not trust timestamps under 2 s old
                timed([str(PYTHON), __file__, "--child", str(counts), *command], project, env)
            _, proc = timed([str(PYTHON), __file__, "--child", str(counts), *command], project, env)
            if profile and rep:
                os.replace(f"{profile}.{n}.last", f"{profile}.{n}.{rep}")
            ran = sum(1 for s in json.loads(proc.stdout)["steps"].values() if s["status"] == "ran")
            if ran:
                raise SystemExit(f"A no-change run at N={n} ran {ran} steps.")
            if rep:  # the first fills the caches for this command line
                rows.append(json.loads(counts.read_text()))
    result = {key: median([row.get(key, 0.0) for row in rows]) for key in [*PHASES, "process"]}
    result["rest"] = result["process"] - sum(v for k, v in result.items() if k in PHASES and k not in NESTED)
    return result


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", default="50,1000")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--after-change", action="store_true",
                        help="measure the first no-change run after a run of a code edit, not a repeated one")
    parser.add_argument("--profile", metavar="FILE",
                        help="also profile planning in each measured run, to FILE.N.REP (read with pstats)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.n.split(",")]
    results = {}
    for n in sizes:
        kind = "edit, run and no-change run" if args.after_change else "no-change run"
        print(f"N={n}: cold run, then {args.reps + 1} times: {kind}", file=sys.stderr, flush=True)
        results[n] = measure(n, args.reps, args.after_change, args.profile)
    keys = [*PHASES, "rest", "process"]
    print(f"| phase | {' | '.join(f'N={n}' for n in sizes)} | growth N={sizes[-1]} - N={sizes[0]} |")
    print(f"|---|{'---|' * len(sizes)}---|")
    for key in keys:
        cells = " | ".join(f"{results[n][key] * 1000:.0f} ms" for n in sizes)
        growth = (results[sizes[-1]][key] - results[sizes[0]][key]) * 1000
        print(f"| {key} | {cells} | {growth:+.0f} ms |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
