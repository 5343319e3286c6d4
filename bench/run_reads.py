"""Read tracing: what recording the files each step opens costs, cold and unchanged, against tracing off.

    .venv/bin/python bench/run_reads.py --n 50,200 --reps 3

Workload A (`workload_a.py`), with every step also reading the project's `config.json` through a
helper (`json.load(open(ROOT / "config.json"))`), as issue 29's steps do: so with tracing on every
commit records one read, and every no-change plan checks it. Each repetition, in an order that
alternates, runs in a fresh project (its files 2 s old, as a project a person edits is) a cold run
and then a no-change run with:

- on: tracing on (the default): the audit hook in each step's process, the reads hashed after
  each step and checked when the next run plans;
- off: `DURAPIPE_TRACE_READS=0`: no hook, no reads recorded, nothing checked.

Each row has wall time and CPU time (user + system of the command and every process it started:
this process is their subreaper and reaps them). Per-step cost is (cold - no-change) / N.
Then the audit hook alone, in a fresh interpreter each (best of 5): the time of an `open` + `read`
of a small project file and of `sys._getframe()` (an audit event that is not an open) with no
hook, with the hook installed and idle (between steps: a runner keeps it), and while recording.
Rows go to bench/results/reads-*.jsonl.
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

_PR_SET_CHILD_SUBREAPER = 36
# The step body's helper reads the project's config, as a user's step reads its settings.
READS_CONFIG = '''
import json as _json
from pathlib import Path as _Path

_ROOT = _Path(__file__).parent


def settings():
    return _json.load(open(_ROOT / "config.json"))
'''


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


def _run(project: Path, tracing: bool) -> tuple[float, float]:
    """(wall s, CPU s) of one `durapipe run` of the workload."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("DURAPIPE_")}
    if not tracing:
        env["DURAPIPE_TRACE_READS"] = "0"
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([str(DURAPIPE), "run", "pipeline.py:workload_a", "--store", str(project / "store"), "--json"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    _reap()
    if done.returncode != 0:
        raise RuntimeError(f"durapipe run failed ({done.returncode}) in {project}:\n{done.stderr[-4000:]}")
    return wall, _children_cpu() - cpu


def _project(n: int) -> Path:
    project = Path(tempfile.mkdtemp(prefix="bench-reads-"))
    wa.write_durapipe(project, n)
    (project / "pyproject.toml").write_text("[project]\nname = 'bench-reads'\n")
    (project / "config.json").write_text('{"horizon": 4}\n')
    steps = project / "steps.py"
    steps.write_text(steps.read_text().replace(
        "    digest = hashlib.sha256(str(const).encode())\n",
        "    digest = hashlib.sha256(str(const).encode() + str(settings()['horizon']).encode())\n") + READS_CONFIG)
    time.sleep(2.1)  # settled: durapipe trusts a file's signature once it is 2 s old
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", default="50,200")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=DURAPIPE.parents[2], capture_output=True,
                            text=True).stdout.strip()
    results = Results("reads")
    results.write({"kind": "reads-commit", "commit": commit})
    rows: list[dict[str, Any]] = []
    sizes = [int(n) for n in args.n.split(",")]
    for rep in range(args.reps):
        for n in sizes:
            for variant in (("on", "off") if rep % 2 == 0 else ("off", "on")):
                project = _project(n)
                try:
                    for phase in ("cold", "nochange"):
                        wall, cpu = _run(project, variant == "on")
                        row = {"kind": "reads", "variant": variant, "n": n, "rep": rep, "phase": phase,
                               "wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "load1": round(os.getloadavg()[0], 2)}
                        results.write(row)
                        rows.append(row)
                        print(f"  N={n:<5} {variant:3} rep {rep} {phase:8} wall {wall:6.2f} s  cpu {cpu:6.2f} s",
                              file=sys.stderr)
                finally:
                    shutil.rmtree(project, ignore_errors=True)
    _table(rows, sizes)
    hook = _hook_costs()
    for row in hook:
        results.write({"kind": "reads-hook", **row})
    print("\n| audit hook | open + read of a small file | sys._getframe() |")
    print("|---|---|---|")
    for row in hook:
        print(f"| {row['mode']} | {row['open_us']:.2f} us | {row['getframe_ns']:.0f} ns |")
    print(f"\nrows: {results.path}")


HOOK_PROBE = """
import json, os, sys, tempfile, time
from durapipe.executors import read_tracing
mode = sys.argv[1]
root = tempfile.mkdtemp()
path = os.path.join(root, "config.json")
with open(path, "w") as f:
    f.write("{}")
if mode != "none":
    read_tracing.start(root)
    if mode == "idle":
        read_tracing.stop()
def opens(n):
    t = time.perf_counter()
    for _ in range(n):
        with open(path) as f:
            f.read()
    return (time.perf_counter() - t) / n
def frames(n):
    t = time.perf_counter()
    for _ in range(n):
        sys._getframe()
    return (time.perf_counter() - t) / n
print(json.dumps({"mode": mode, "open_us": min(opens(20000) for _ in range(5)) * 1e6,
                  "getframe_ns": min(frames(200000) for _ in range(5)) * 1e9}))
"""


def _hook_costs() -> list[dict[str, Any]]:
    """Per-call cost of an open and of another audited call with no hook, an idle hook and a recording one."""
    python = DURAPIPE.parent / "python"
    found = []
    for mode in ("none", "idle", "recording"):
        done = subprocess.run([str(python), "-c", HOOK_PROBE, mode], capture_output=True, text=True, check=True)
        found.append(json.loads(done.stdout))
    return found


def _table(rows: list[dict[str, Any]], sizes: list[int]) -> None:
    def med(variant: str, n: int, phase: str, key: str) -> float:
        return median([r[key] for r in rows if (r["variant"], r["n"], r["phase"]) == (variant, n, phase)])

    print("\n| N | phase | off wall | on wall | on/off wall | off CPU | on CPU | on/off CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for phase in ("cold", "nochange"):
            off_w, on_w = med("off", n, phase, "wall_s"), med("on", n, phase, "wall_s")
            off_c, on_c = med("off", n, phase, "cpu_s"), med("on", n, phase, "cpu_s")
            print(f"| {n} | {phase} | {off_w:.2f} s | {on_w:.2f} s | {on_w / off_w:.3f} | {off_c:.2f} s | "
                  f"{on_c:.2f} s | {on_c / off_c:.3f} |")
    print("\n| N | per step off ((cold - no-change) / N) | per step on | on - off per step | on/off |")
    print("|---|---|---|---|---|")
    for n in sizes:
        for key in ("wall_s", "cpu_s"):
            off = (med("off", n, "cold", key) - med("off", n, "nochange", key)) / n
            on = (med("on", n, "cold", key) - med("on", n, "nochange", key)) / n
            print(f"| {n} ({key[:-2]}) | {off * 1000:.2f} ms | {on * 1000:.2f} ms | {(on - off) * 1000:+.2f} ms | "
                  f"{on / off:.3f} |")


if __name__ == "__main__":
    main()
