"""What each `durapipe` command does; cli.py only parses arguments and maps errors to exit codes."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from durapipe.errors import NotFoundError, UsageError
from durapipe.names import check_name
from durapipe.records import list_runs as records_list_runs
from durapipe.records import previous_run_with_step, read_run_record
from durapipe.run_request import build_run_request, new_run_id
from durapipe.runner import LocalSession, state_dir_for, store_of_run
from durapipe.stores.url import open_store

EXIT_OK, EXIT_FAILED = 0, 1


def _pipeline_request(target: str, params: dict[str, Any], inputs: dict[str, str], force: list[str],
                      max_parallel: int | None, store: Any, run_id: str | None = None,
                      register_model: str | None = None) -> dict[str, Any]:
    from durapipe.loading import code_root_of, load_target
    from durapipe.references import MODEL, NEWEST, resolve_reference
    from durapipe.spec import resolve_params

    pipeline = load_target(target)
    spec = pipeline.spec
    spec_json = spec.to_json()
    sources: dict[str, Any] = {}
    notes: dict[str, Any] = {}
    for name, value in inputs.items():
        if value.startswith((MODEL, NEWEST)):
            resolved = resolve_reference(store, value, f"input {name!r}")
            notes[name] = resolved.note
            if resolved.source is not None:
                sources[name] = resolved.source
        else:
            sources[name] = {"path": str(Path(value).resolve())}
    return build_run_request(
        spec_json, resolve_params(spec, params), sources, run_id=run_id or new_run_id(spec_json["name"]),
        code_root=str(code_root_of(pipeline)), force=force, max_parallel=max_parallel,
        trigger={"kind": "cli", "target": target, **({"inputs": notes} if notes else {})},
        register=_registration(pipeline, register_model) if register_model else None,
        input_hint="; give it with --input {name}=PATH")


def _registration(pipeline: Any, model: str) -> dict[str, Any]:
    """The registration policy of `model`: as the pipeline's project declares it, else the defaults."""
    import inspect

    from durapipe.project import definitions_ref, find_project_root, load_definitions
    from durapipe.registry import registration_policy

    check_name(model, "model name")
    root = find_project_root(Path(inspect.getsourcefile(pipeline.func) or "."))
    ref = definitions_ref(root)
    if ref is not None:
        declared = load_definitions(root, ref).models.get(model)
        if declared is not None:
            if declared.pipeline.name != pipeline.name:
                raise UsageError(f"Model {model} is registered from pipeline {declared.pipeline.name} in the "
                                 f"project's definitions, not from {pipeline.name}.")
            return declared.policy()
    return registration_policy(model)


def _console() -> Any:
    # rich takes ~0.1 s to import: only the human-readable paths pay for it.
    from rich.console import Console

    return Console(highlight=False)


def _finish(session: LocalSession, run_id: str, as_json: bool) -> int:
    from durapipe.progress import watch

    live = not as_json and sys.stdout.isatty()
    out = _console() if live else None
    # Between polls, wait on the host itself, so the command returns as soon as the run ends.
    status = watch(lambda: session.host.get_status(run_id, show_input=False), f"run {run_id}", live, out,
                   pause=lambda seconds: session.host.wait(run_id, seconds))
    try:
        record = read_run_record(session.store, run_id)
    except NotFoundError:
        record = None
    if record is None or record.get("status") == "running":
        message = _status_error(status)
        if as_json:
            print(json.dumps({"run_id": run_id, "status": "failed", "error": message, "steps": {}}))
        else:
            (out or _console()).print(f"[bold red]run {run_id} failed:[/] {message}")
        return EXIT_FAILED
    return print_run(record, as_json, out)


def print_run(record: dict[str, Any], as_json: bool, out: Any = None) -> int:
    """Print a run record (table or JSON) and return the exit code its status means."""
    from durapipe.engine.record import run_summary

    if as_json:
        print(json.dumps(run_summary(record), indent=2))
    else:
        from durapipe.progress import reuse_sentence, summary_table

        out = out or _console()
        out.print(summary_table(record))
        out.print(reuse_sentence(record))
        if record.get("error"):
            out.print(f"[bold red]{record['error']}[/]")
        if record.get("registered"):
            out.print(f"registered model {record['registered']['model']} version {record['registered']['version']}")
        for name, ref in (record.get("outputs") or {}).items():
            out.print(f"output {name}: artifact {ref['hash'][:12]} ({ref['kind']}, {ref['size']} bytes)")
        for line in partition_lines(record):
            out.print(line)
    return EXIT_OK if record["status"] == "completed" else EXIT_FAILED


def partition_lines(record: dict[str, Any]) -> list[str]:
    """One line per partition of each mapped step: its state, duration and fingerprint."""
    from durapipe.run_details import failed_partition

    lines = []
    for name, entry in (record.get("steps") or {}).items():
        parts = entry.get("by_partition") or {}
        failed = failed_partition(entry.get("error"))
        if not parts and not failed:
            continue
        lines.append(f"step {name}, by partition:")
        for part, info in sorted(parts.items()):
            lines.append(f"  {part}  {info['status']}  {info.get('duration_s') or 0.0:.2f}s  "
                         f"{(info.get('fingerprint') or '')[:12]}")
        if failed and failed not in parts:
            lines.append(f"  {failed}  failed")
    return lines


def _status_error(status: dict[str, Any]) -> str:
    output = status.get("output")
    if isinstance(output, str) and output:
        return output.splitlines()[0]
    return f"the run ended as {status.get('runtimeStatus', 'unknown')}"


def run_pipeline(target: str, params: dict[str, Any], inputs: dict[str, str], store_url: str | None,
                 max_parallel: int | None, force: list[str], as_json: bool, register_model: str | None = None) -> int:
    """`durapipe run`: run TARGET on the local host and print the outcome."""
    from durapipe.local.workers import start_fork_server

    # The worker fork server imports the app on the other core while this process loads the pipeline.
    start_fork_server(state_dir_for())
    store = open_store(store_url)
    request = _pipeline_request(target, params, inputs, force, max_parallel, store, register_model=register_model)
    with LocalSession(store.url, state_dir_for(), max_parallel, inline_activities=True) as session:
        run_id = session.start_run(request)
        if not as_json:
            print(f"run {run_id} started (store {session.store.url})", file=sys.stderr)
        return _finish(session, run_id, as_json)


def resume_run(run_id: str, max_parallel: int | None, as_json: bool) -> int:
    """`durapipe resume`: continue an unfinished run from its journal."""
    state_dir = state_dir_for()
    store_url = store_of_run(state_dir, run_id)
    if store_url is None:
        raise UsageError(f"This host has no journal of run {run_id!r}; `durapipe runs list` shows the runs.")
    from durapipe.local.host import InstanceBusy

    with LocalSession(store_url, state_dir, max_parallel, inline_activities=True) as session:
        try:
            resumed = session.host.resume(run_id)
        except InstanceBusy as exc:
            raise UsageError(str(exc)) from None
        if not resumed and session.host.get_status(run_id, show_input=False)["runtimeStatus"] == "Failed":
            _restart_failed(session, run_id)
        return _finish(session, run_id, as_json)


def _restart_failed(session: LocalSession, run_id: str) -> None:
    """Run a failed run again under its id, from its original request: every committed step is reused."""
    from durapipe import contracts as names
    from durapipe.records import write_run_record

    meta = session.host.journal.read_meta(run_id)
    try:
        record = read_run_record(session.store, run_id)
    except NotFoundError:
        record = None
    if record is not None:
        # Running again: the record says so until the new attempt records its outcome.
        record.update(status="running", finished=None, error=None)
        write_run_record(session.store, record)
    session.host.start_new_json(names.PIPELINE_RUN, run_id, meta["input"])


def plan_pipeline(target: str, params: dict[str, Any], inputs: dict[str, str], store_url: str | None,
                  force: list[str], as_json: bool) -> int:
    """`durapipe plan`: what would be reused and what would run, and why."""
    from durapipe.engine.plan import make_plan
    from durapipe.fingerprint.explain import explain as explain_components

    store = open_store(store_url)
    request = _pipeline_request(target, params, inputs, force, None, store, run_id="plan")
    plan = make_plan(store, request)
    rows = []
    previous = records_list_runs(store, pipeline=request["spec"]["name"])
    for step in plan.steps:
        row = {"step": step.name, "action": "reuse" if step.reused else "run", "reason": step.reason,
               "fingerprint": step.fingerprint, "changes": []}
        if step.reused is None and step.components is not None:
            old = previous_run_with_step(store, request["spec"]["name"], step.name, runs=previous)
            if old is not None:
                row["changes"] = [c.describe() for c in
                                  explain_components(old["steps"][step.name]["components"], step.components)]
        rows.append(row)
    from durapipe.executors.timeouts import function_timeout_s, timeout_warning

    limit = function_timeout_s()
    warnings = [w for s in request["spec"]["steps"] if (w := timeout_warning(s["name"], s["options"], limit))]
    if as_json:
        print(json.dumps({"pipeline": request["spec"]["name"], "steps": rows, "warnings": warnings}, indent=2))
        return EXIT_OK
    out = _console()
    for warning in warnings:
        out.print(f"[red]warning[/] {warning}")
    for row in rows:
        if row["action"] == "reuse":
            out.print(f"[cyan]reuse[/] {row['step']}  (fingerprint {(row['fingerprint'] or '')[:12]})")
        else:
            out.print(f"[yellow]run[/]   {row['step']}: {row['reason']}")
            for change in row["changes"]:
                out.print(f"        {change}")
    return EXIT_OK


def _run_step(store: Any, run_id: str, step: str,
              partition: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record of run `run_id` and its entry for `step` (or one partition of it); a UsageError otherwise."""
    from durapipe.run_details import step_entry

    run = read_run_record(store, run_id)
    return run, step_entry(run, step, partition)


def explain_step(run_id: str, step: str, store_url: str | None, as_json: bool, partition: str | None = None) -> int:
    """`durapipe explain`: why STEP (or one partition of it) ran in RUN_ID, against the previous run."""
    from durapipe.fingerprint.explain import explain as explain_components
    from durapipe.run_details import mapped_hint

    store = open_store(store_url)
    run, entry = _run_step(store, run_id, step, partition)
    if partition is None and entry.get("components") is None and mapped_hint(run, step):
        raise UsageError(mapped_hint(run, step))
    what = f"Partition {partition} of step {step}" if partition else f"Step {step}"
    if partition is not None:
        components = _partition_components(store, entry)
        previous = _previous_with_partition(store, run, step, partition)
        old = _partition_components(store, previous["steps"][step]["by_partition"][partition]) if previous else None
    else:
        components = entry.get("components")
        previous = previous_run_with_step(store, run.get("pipeline"), step, before=run)
        old = previous["steps"][step]["components"] if previous else None
    if entry["status"] == "reused":
        lines = [f"{what} was reused: its fingerprint {entry['fingerprint'][:12]} was already committed."]
        changes: list[Any] = []
    elif components is None:
        lines = [f"{what} did not run to completion ({entry['status']}), so it has no fingerprint to compare."]
        changes = []
    elif previous is None or old is None:
        lines = [f"{what} ran because no earlier run of pipeline {run['pipeline']} has it: it ran for the first time."]
        changes = []
    else:
        changes = explain_components(old, components)
        lines = [f"{what} ran; compared with run {previous['run_id']}:"]
        lines += [f"  {c.describe()}" for c in changes] or [
            "  nothing in its fingerprint changed: it ran because it was forced, has cache=False, "
            "or its earlier result was not committed."]
    if as_json:
        print(json.dumps({"run_id": run_id, "step": step, "status": entry["status"],
                          **({"partition": partition} if partition else {}),
                          "previous_run": previous["run_id"] if previous else None,
                          "changes": [{"kind": c.kind, "name": c.name, "old": c.old, "new": c.new,
                                       "description": c.describe()} for c in changes]}, indent=2))
    else:
        print("\n".join(lines))
    return EXIT_OK


def _partition_components(store: Any, entry: dict[str, Any]) -> dict[str, Any] | None:
    """A partition's fingerprint components, from the step record committed under its fingerprint."""
    from durapipe.records import find_step_record

    record = find_step_record(store, entry["fingerprint"]) if entry.get("fingerprint") else None
    return record.get("components") if record else None


def _previous_with_partition(store: Any, run: dict[str, Any], step: str, partition: str) -> dict[str, Any] | None:
    """The newest run of the same pipeline before `run` that recorded `partition` of `step`."""
    for other in records_list_runs(store, pipeline=run.get("pipeline")):
        if other["run_id"] == run["run_id"] or (other.get("started") or "") >= (run.get("started") or ""):
            continue
        if partition in ((other.get("steps") or {}).get(step) or {}).get("by_partition", {}):
            return other
    return None


def list_runs(store_url: str | None, pipeline: str | None, status: str | None, as_json: bool) -> int:
    """`durapipe runs list`: runs, newest first."""
    from durapipe.runner import reconcile_run, run_liveness

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
        print(json.dumps(rows, indent=2))
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


def list_models(name: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe models list`: the versions of a model, oldest first."""
    from durapipe import registry

    store = open_store(store_url)
    versions = registry.list_versions(store, name)
    current = registry.champion(store, name)
    rows = [{"version": v["version"], "champion": bool(current and current["version"] == v["version"]),
             "metric": v.get("metric"), "value": v["metrics"].get(v.get("metric")), "run_id": v["run_id"],
             "created": v["created"]} for v in versions]
    if as_json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"model {name} has no versions yet")
    for row in rows if not as_json else []:
        mark = "*" if row["champion"] else " "
        print(f"{mark} v{row['version']}  {row['metric']}={row['value']}  run {row['run_id']}  {row['created']}")
    return EXIT_OK


def export_model(name: str, dest: Path, version: int | None, store_url: str | None) -> int:
    """`durapipe models export`: write a version's artifacts (default: the champion) into `dest`."""
    from durapipe import registry
    from durapipe.stores.artifacts import get_artifact

    store = open_store(store_url)
    entry = registry.get_version(store, name, version) if version is not None else registry.champion(store, name)
    if entry is None:
        raise UsageError(f"Model {name} has no champion yet; run a retraining with --register-model {name} first.")
    dest.mkdir(parents=True, exist_ok=True)
    for output, ref in entry["outputs"].items():
        get_artifact(store, ref, dest / output)
    print(f"model {name} version {entry['version']} written to {dest}")
    return EXIT_OK


def show_log(run_id: str, step: str, store_url: str | None, partition: str | None = None) -> int:
    """`durapipe logs`: what a step (or one partition of it) printed (stdout, stderr, traceback) when it ran."""
    from durapipe.run_details import log_ref, mapped_hint, no_log_sentence
    from durapipe.stores.artifacts import read_artifact_bytes

    store = open_store(store_url)
    run, entry = _run_step(store, run_id, step, partition)
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


def draw_graph(target: str, fmt: str, store_url: str | None, out: Path | None) -> int:
    """`durapipe graph`: the DAG of a pipeline target or of a recorded run, as svg, png, dot or mermaid."""
    from durapipe.graph import graph_of_run, graph_of_spec, render

    if ":" in target:  # path/file.py:name or module:name; run ids never hold a ':'
        from durapipe.loading import load_target

        picture = graph_of_spec(load_target(target).spec.to_json())
    else:
        picture = graph_of_run(read_run_record(open_store(store_url), target))
    data = render(picture, fmt)
    if out is not None:
        out.write_bytes(data)
        print(f"wrote {out} ({fmt}, {len(data)} bytes)", file=sys.stderr)
    elif fmt == "png" and sys.stdout.isatty():
        raise UsageError("A PNG is binary: give --out FILE or redirect stdout to a file.")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK
