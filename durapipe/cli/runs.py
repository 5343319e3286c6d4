"""`durapipe runs list/show/compare`, `outputs`, `logs` and `explain`: looking at recorded runs."""
from __future__ import annotations

import sys
from pathlib import Path

from durapipe.cli.output import print_json
from durapipe.cli.render import EXIT_OK, print_run
from durapipe.core.errors import UsageError
from durapipe.store.records import read_run_record
from durapipe.store.url import open_store


def list_runs(store_url: str | None, pipeline: str | None, status: str | None, as_json: bool) -> int:
    """`durapipe runs list`: runs, newest first."""
    from durapipe.host.session import reconcile_run, run_liveness, state_dir_for
    from durapipe.store.records import list_runs as records_list_runs

    store = open_store(store_url)
    state_dir = state_dir_for()
    runs = [reconcile_run(state_dir, store, r) for r in records_list_runs(store, pipeline, None)]
    runs = [r for r in runs if status is None or r.get("status") == status]
    rows = [{"run_id": r["run_id"], "pipeline": r.get("pipeline"), "status": r.get("status"),
             "started": r.get("started")} for r in runs]
    for row in rows:
        if row["status"] == "running":
            # "live": a host holds the run's lock; "interrupted": this host's journal has it, nobody
            # drives it (`durapipe resume` continues it); None: started elsewhere, so unknown here.
            row["liveness"] = run_liveness(state_dir, row["run_id"])
    if as_json:
        print_json(rows)
    else:
        for row in rows:
            shown = "interrupted" if row.get("liveness") == "interrupted" else row["status"]
            print(f"{row['run_id']}  {row['pipeline']}  {shown}  {row['started']}")
        if not rows:
            print("no runs yet")
    return EXIT_OK


def show_run(run_id: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe runs show`: one run, as `durapipe run --json` prints it."""
    print_run(read_run_record(open_store(store_url), run_id), as_json)
    return EXIT_OK


def compare_runs(first_id: str, second_id: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe runs compare`: two runs' parameters and metrics side by side, and which steps differed and why."""
    from durapipe.views.compare import compare_runs as compared

    store = open_store(store_url)
    result = compared(read_run_record(store, first_id), read_run_record(store, second_id))
    if as_json:
        print_json(result)
        return EXIT_OK
    print(f"A = {first_id}\nB = {second_id}")
    for section in ("params", "logged_params", "metrics"):
        for key, row in result[section].items():
            mark = " " if row["same"] else "*"
            print(f"{mark} {section[:-1].replace('_', ' ')} {key}: A={row['a']!r}  B={row['b']!r}")
    for name, row in result["steps"].items():
        if row["same"]:
            print(f"  step {name}: same fingerprint {row['a']['fingerprint'][:12]}")
        else:
            print(f"* step {name}: differs")
            for change in row["changes"]:
                print(f"      {change}")
    return EXIT_OK


def show_outputs(run_id: str, name: str | None, dest: Path | None, store_url: str | None, as_json: bool) -> int:
    """`durapipe outputs`: a run's outputs; with --to DIR, written there (verified) as DIR/<name>."""
    from durapipe.store.artifacts import get_artifact

    store = open_store(store_url)
    run = read_run_record(store, run_id)
    outputs = run.get("outputs") or {}
    if name is not None and name not in outputs:
        raise UsageError(f"Run {run_id} has no output {name!r}; its outputs are: {', '.join(outputs) or 'none'}.")
    chosen = {name: outputs[name]} if name is not None else outputs
    rows = []
    for out_name, ref in chosen.items():
        row = {"name": out_name, **ref}
        if dest is not None:
            target = dest / out_name
            if target.exists():
                raise UsageError(f"Cannot write output {out_name} to {str(target)!r}: it already exists.")
            get_artifact(store, ref, target)
            row["path"] = str(target)
        rows.append(row)
    if as_json:
        print_json(rows)
    for row in rows if not as_json else []:
        where = f"  -> {row['path']}" if "path" in row else ""
        print(f"{row['name']}  {row['hash'][:12]}  {row['kind']}  {row['size']} bytes{where}")
    return EXIT_OK


def show_log(run_id: str, step: str, store_url: str | None, partition: str | None = None) -> int:
    """`durapipe logs`: what a step (or one partition of it) printed (stdout, stderr, traceback) when it ran."""
    from durapipe.store.artifacts import read_artifact_bytes
    from durapipe.views.run_details import log_ref, mapped_hint, no_log_sentence, step_entry

    store = open_store(store_url)
    run = read_run_record(store, run_id)
    entry = step_entry(run, step, partition)
    ref = log_ref(store, entry)
    if ref is None and partition is None and mapped_hint(run, step):
        raise UsageError(mapped_hint(run, step))
    if partition is not None:
        step = f"{step} (partition {partition})"
    if ref is None:
        raise UsageError(no_log_sentence(run_id, step, entry))
    if entry["status"] == "reused":
        print(f"# step {step} was reused; this is the log of the run that made its result", file=sys.stderr)
    sys.stdout.write(read_artifact_bytes(store, ref).decode("utf-8", errors="replace"))
    return EXIT_OK


def explain_step(run_id: str, step: str, store_url: str | None, as_json: bool, partition: str | None = None) -> int:
    """`durapipe explain`: why STEP (or one partition of it) ran in RUN_ID, against the previous run."""
    from durapipe.views.explain import explain_step as explained

    store = open_store(store_url)
    why = explained(store, read_run_record(store, run_id), step, partition)
    if as_json:
        print_json({"run_id": run_id, "step": step, "status": why.status,
                    **({"partition": partition} if partition else {}),
                    "previous_run": why.previous_run,
                    "changes": [{"kind": c.kind, "name": c.name, "old": c.old, "new": c.new,
                                 "description": c.describe()} for c in why.changes]})
    else:
        print("\n".join(why.lines))
    return EXIT_OK
