"""What each `durapipe` command does; cli.py only parses arguments and maps errors to exit codes."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

from durapipe.core.errors import NotFoundError, UsageError
from durapipe.core.names import check_name
from durapipe.cli.output import json_text, print_json
from durapipe.store.records import list_runs as records_list_runs
from durapipe.store.records import previous_run_with_step, read_run_record
from durapipe.engine.pipeline_request import declared_policy, pipeline_request
from durapipe.engine.request import build_run_request, new_run_id
from durapipe.host.session import LocalSession, state_dir_for, store_of_run
from durapipe.store.url import open_store

EXIT_OK, EXIT_FAILED = 0, 1


def _console() -> Any:
    # rich takes ~0.1 s to import: only the human-readable paths pay for it.
    from rich.console import Console

    return Console(highlight=False)


def _finish(session: LocalSession, run_id: str, as_json: bool) -> int:
    """Wait for the run, print its outcome, then leave its plan remembered for the next run."""
    code = _print_outcome(session, run_id, as_json)
    session.remember_plan(run_id)
    return code


def _print_outcome(session: LocalSession, run_id: str, as_json: bool) -> int:
    from durapipe.views.progress import watch

    live = not as_json and sys.stdout.isatty()
    out = _console() if live else None
    # Between polls, wait on the host itself, so the command returns as soon as the run ends.
    status = watch(lambda: session.host.get_status(run_id, show_input=False), f"run {run_id}", live, out,
                   pause=lambda seconds: session.host.wait(run_id, seconds, show_input=False))
    summary = status.get("output")
    if as_json and status.get("runtimeStatus") == "Completed" and isinstance(summary, dict) \
            and summary.get("run_id") == run_id and summary.get("status") == "completed":
        # A completed run's output is its summary as recording returned it (`run_summary` of the
        # record it wrote): printed as is, without reading the whole record back.
        print_json(summary)
        return EXIT_OK
    try:
        record = read_run_record(session.store, run_id)
    except NotFoundError:
        record = None
    if record is None or record.get("status") == "running":
        message = _status_error(status)
        if as_json:
            print_json({"run_id": run_id, "status": "failed", "error": message, "steps": {}})
        else:
            (out or _console()).print(f"[bold red]run {run_id} failed:[/] {message}")
        return EXIT_FAILED
    return print_run(record, as_json, out)


def print_run(record: dict[str, Any], as_json: bool, out: Any = None) -> int:
    """Print a run record (table or JSON) and return the exit code its status means."""
    from durapipe.engine.record import run_summary

    if as_json:
        print_json(run_summary(record))
    else:
        from durapipe.views.progress import reuse_sentence, summary_table

        out = out or _console()
        out.print(summary_table(record))
        out.print(reuse_sentence(record))
        if record.get("error"):
            out.print(f"[bold red]{record['error']}[/]")
        for output, entry in (record.get("published") or {}).items():
            out.print(f"published output {output} as data {entry['data']} version {entry['version']}")
        if record.get("registered"):
            out.print(f"registered model {record['registered']['model']} version {record['registered']['version']}")
        for name, ref in (record.get("outputs") or {}).items():
            out.print(f"output {name}: artifact {ref['hash'][:12]} ({ref['kind']}, {ref['size']} bytes)")
        for line in partition_lines(record):
            out.print(line)
        for step_name, step in (record.get("steps") or {}).items():
            logged = {**(step.get("logged_params") or {}), **(step.get("metrics") or {})}
            if logged:
                out.print(f"step {step_name}: " + "  ".join(f"{k}={v}" for k, v in logged.items()), markup=False)
    return EXIT_OK if record["status"] == "completed" else EXIT_FAILED


def partition_lines(record: dict[str, Any]) -> list[str]:
    """One line per partition of each mapped step: its state, duration and fingerprint."""
    from durapipe.views.run_details import failed_partition

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
                 max_parallel: int | None, force: list[str], as_json: bool, register_model: str | None = None,
                 publish: dict[str, str] | None = None) -> int:
    """`durapipe run`: run TARGET on the local host and print the outcome."""
    from durapipe.host.workers import start_fork_server

    # The worker fork server imports the app on the other core while this process imports the
    # pipeline and the app (~0.3 s of a run that executes steps). A run given no inputs and no
    # --force whose pipeline is remembered unchanged (durapipe.load.definition_cache, which also keys
    # on the command line) most likely reuses every step: it starts the server only once the
    # pipeline turns out to need importing, a step is uncached, or a step is to run after all,
    # so a run that reuses every step starts no process (~40 ms less).
    start = lambda: start_fork_server(state_dir_for())  # noqa: E731
    likely_work = bool(inputs or force or register_model)
    if likely_work:
        start()
    store = open_store(store_url)
    request = pipeline_request(target, params, inputs, force, max_parallel, store, register_model=register_model,
                                publish=publish, before_import=None if likely_work else start)
    if not likely_work and not all(s["options"].get("cache", True) for s in request["spec"]["steps"]):
        start()
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
    from durapipe.host.local_host import InstanceBusy

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
    from durapipe.model import contracts as names
    from durapipe.store.records import write_run_record

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
    request = pipeline_request(target, params, inputs, force, None, store, run_id="plan")
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
    from durapipe.core.host_json import deployed_host_json, function_timeout_s, timeout_warning
    from durapipe.core.paths import find_project_root

    code_root = request.get("code_root")
    limit = function_timeout_s(deployed_host_json(find_project_root(code_root) if code_root else None))
    warnings = [w for s in request["spec"]["steps"] if (w := timeout_warning(s["name"], s["options"], limit))]
    if as_json:
        print_json({"pipeline": request["spec"]["name"], "steps": rows, "warnings": warnings})
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
    from durapipe.views.run_details import step_entry

    run = read_run_record(store, run_id)
    return run, step_entry(run, step, partition)


def explain_step(run_id: str, step: str, store_url: str | None, as_json: bool, partition: str | None = None) -> int:
    """`durapipe explain`: why STEP (or one partition of it) ran in RUN_ID, against the previous run."""
    from durapipe.fingerprint.explain import explain as explain_components
    from durapipe.views.run_details import mapped_hint

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
        print_json({"run_id": run_id, "step": step, "status": entry["status"],
                    **({"partition": partition} if partition else {}),
                    "previous_run": previous["run_id"] if previous else None,
                    "changes": [{"kind": c.kind, "name": c.name, "old": c.old, "new": c.new,
                                 "description": c.describe()} for c in changes]})
    else:
        print("\n".join(lines))
    return EXIT_OK


def _partition_components(store: Any, entry: dict[str, Any]) -> dict[str, Any] | None:
    """A partition's fingerprint components, from the step record committed under its fingerprint."""
    from durapipe.store.records import find_step_record

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
    from durapipe.host.session import reconcile_run, run_liveness

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


def list_models(name: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe models list`: the versions of a model, oldest first."""
    from durapipe.catalog import registry

    store = open_store(store_url)
    versions = registry.list_versions(store, name)
    current = registry.champion(store, name)
    rows = [{"version": v["version"], "champion": bool(current and current["version"] == v["version"]),
             "metric": v.get("metric"), "value": v["metrics"].get(v.get("metric")), "run_id": v["run_id"],
             "created": v["created"]} for v in versions]
    if as_json:
        print_json(rows)
    elif not rows:
        print(f"model {name} has no versions yet")
    for row in rows if not as_json else []:
        mark = "*" if row["champion"] else " "
        print(f"{mark} v{row['version']}  {row['metric']}={row['value']}  run {row['run_id']}  {row['created']}")
    return EXIT_OK


def export_model(name: str, dest: Path, version: int | None, store_url: str | None) -> int:
    """`durapipe models export`: write a version's artifacts (default: the champion) into `dest`."""
    from durapipe.catalog import registry
    from durapipe.store.artifacts import get_artifact

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
    from durapipe.views.run_details import log_ref, mapped_hint, no_log_sentence
    from durapipe.store.artifacts import read_artifact_bytes

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
    from durapipe.views.graph import graph_of_run, graph_of_spec, render

    if ":" in target:  # path/file.py:name or module:name; run ids never hold a ':'
        from durapipe.load.targets import load_target

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


def register_model(run_id: str, name: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe models register`: add RUN_ID's model output as a version of NAME; the policy decides the champion."""
    from durapipe.catalog import registry

    store = open_store(store_url)
    run = read_run_record(store, run_id)
    policy = declared_policy(name, run.get("pipeline"))
    entry, created = registry.register_version(store, policy, run)
    promoted = registry.promote_if_better(store, policy, entry)
    current = registry.champion(store, name)
    result = {"model": name, "version": entry["version"], "new": created, "run_id": entry["run_id"],
              "champion": current["version"] if current else None}
    if as_json:
        print_json(result)
    else:
        verb = "registered" if created else "already registered as"
        tail = " (champion)" if promoted else f"; the champion stays version {result['champion']}"
        print(f"run {run_id}: {verb} model {name} version {entry['version']}{tail}")
    return EXIT_OK


def promote_model(name: str, version: int, store_url: str | None, as_json: bool) -> int:
    """`durapipe models promote`: make version V of NAME the champion, whatever its metric."""
    from durapipe.catalog import registry

    entry = registry.promote(open_store(store_url), check_name(name, "model name"), version)
    if as_json:
        print_json({"model": name, "champion": entry["version"]})
    else:
        print(f"model {name}: version {entry['version']} is the champion")
    return EXIT_OK


def list_all_models(store_url: str | None, as_json: bool) -> int:
    """`durapipe models list` with no NAME: every model and its champion."""
    from durapipe.catalog import registry

    rows = registry.list_models(open_store(store_url))
    if as_json:
        print_json(rows)
    elif not rows:
        print("no models registered yet")
    for row in rows if not as_json else []:
        print(f"{row['name']}  {row['versions']} versions  champion v{row['champion']}  {row['metric']}={row['value']}")
    return EXIT_OK


def show_model(name: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe models show`: one model's versions, metrics and champion."""
    from durapipe.catalog import registry

    shown = registry.describe_model(open_store(store_url), check_name(name, "model name"))
    if as_json:
        print_json(shown)
        return EXIT_OK
    print(f"model {name}: champion version {shown['champion']}")
    for v in shown["versions"]:
        mark = "*" if v["version"] == shown["champion"] else " "
        metrics = " ".join(f"{k}={val}" for k, val in sorted(v["metrics"].items()) if isinstance(val, (int, float)))
        print(f"{mark} v{v['version']}  run {v['run_id']}  {v['created']}  {metrics}")
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


def _rerun_request(store: Any, run: dict[str, Any], run_id: str | None, force: list[str],
                   max_parallel: int | None) -> dict[str, Any]:
    """The request that runs `run`'s pipeline again with its parameters and its resolved input artifacts."""
    from durapipe.core.errors import DurapipeError

    target = (run.get("trigger") or {}).get("target")
    inputs = dict(run.get("inputs") or {})
    if target:
        try:
            request = pipeline_request(target, run.get("params") or {}, inputs, force, max_parallel, store,
                                        run_id=run_id)
        except DurapipeError as exc:
            raise UsageError(f"Run {run['run_id']} cannot be run again: {exc}") from None
    else:
        request = _served_request(store, run, inputs, run_id)
    request["trigger"] = {**request["trigger"], "rerun_of": run["run_id"],
                          **({"inputs": run["trigger"]["inputs"]} if (run.get("trigger") or {}).get("inputs") else {})}
    return request


def _served_request(store: Any, run: dict[str, Any], inputs: dict[str, Any], run_id: str | None) -> dict[str, Any]:
    """A rerun of a served run (HTTP, blob, timer): its pipeline as the current project's definitions serve it."""
    from durapipe.core.paths import definitions_ref, find_project_root
    from durapipe.load.project import load_definitions

    root = find_project_root()
    ref = definitions_ref(root)
    definitions = load_definitions(root, ref) if ref is not None else None
    if definitions is None or run.get("pipeline") not in definitions.pipelines:
        raise UsageError(f"Run {run['run_id']} was started by a {run.get('trigger', {}).get('kind', 'served')} "
                         f"trigger; run `durapipe rerun` in the project that serves pipeline {run.get('pipeline')}.")
    pipeline = definitions.pipelines[run["pipeline"]]
    return pipeline_request(pipeline, run.get("params") or {}, inputs, [], None, store, run_id=run_id)


def rerun(run_id: str, plan_only: bool, store_url: str | None, max_parallel: int | None, as_json: bool) -> int:
    """`durapipe rerun`: the same pipeline, parameters and resolved input versions; --plan says what differs."""
    from durapipe.host.workers import start_fork_server

    store = open_store(store_url)
    original = read_run_record(store, run_id)
    if plan_only:
        return _print_rerun_plan(store, original, _rerun_request(store, original, "plan", [], None), as_json)
    start_fork_server(state_dir_for())
    request = _rerun_request(store, original, new_run_id(original["pipeline"]), [], max_parallel)
    with LocalSession(store.url, state_dir_for(), max_parallel, inline_activities=True) as session:
        new_id = session.start_run(request)
        if not as_json:
            print(f"run {new_id} started again from {run_id} (store {session.store.url})", file=sys.stderr)
        return _finish(session, new_id, as_json)


def _print_rerun_plan(store: Any, original: dict[str, Any], request: dict[str, Any], as_json: bool) -> int:
    from durapipe.engine.plan import make_plan
    from durapipe.fingerprint.explain import explain as explain_components

    plan = make_plan(store, request, recall=False)  # every step's components, to explain a change
    rows = []
    for step in plan.steps:
        before = (original.get("steps") or {}).get(step.name) or {}
        row = {"step": step.name, "action": "reuse" if step.reused else "run", "fingerprint": step.fingerprint,
               "same_as_original": bool(step.fingerprint and step.fingerprint == before.get("fingerprint")),
               "reason": step.reason, "changes": []}
        if step.components is not None and before.get("components") and not row["same_as_original"]:
            row["changes"] = [c.describe() for c in explain_components(before["components"], step.components)]
        elif step.fingerprint is None and step.reused is None:
            row["changes"] = [step.reason]
        rows.append(row)
    if as_json:
        print_json({"run_id": original["run_id"], "pipeline": original["pipeline"], "steps": rows})
        return EXIT_OK
    for row in rows:
        if row["action"] == "reuse":
            print(f"reuse {row['step']}  (fingerprint {row['fingerprint'][:12]})")
        else:
            print(f"run   {row['step']}: {row['reason']}")
        for change in row["changes"] if row["action"] == "run" else []:
            print(f"        {change}")
    return EXIT_OK


def compare_runs(first_id: str, second_id: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe runs compare`: two runs' parameters and metrics side by side, and which steps differed and why."""
    from durapipe.fingerprint.explain import explain as explain_components

    store = open_store(store_url)
    first, second = read_run_record(store, first_id), read_run_record(store, second_id)

    def side_by_side(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {k: {"a": a.get(k), "b": b.get(k), "same": a.get(k) == b.get(k)} for k in sorted({*a, *b})}

    steps = {}
    for name in dict.fromkeys([*first.get("steps", {}), *second.get("steps", {})]):
        a, b = first.get("steps", {}).get(name) or {}, second.get("steps", {}).get(name) or {}
        same = bool(a.get("fingerprint")) and a.get("fingerprint") == b.get("fingerprint")
        changes = [] if same or not (a.get("components") and b.get("components")) else [
            c.describe() for c in explain_components(a["components"], b["components"])]
        if not same and not changes:
            changes = [f"the step is only in run {first_id if a else second_id}" if not (a and b) else
                       "one of the runs has no fingerprint for it (it did not run to completion)"]
        steps[name] = {"same": same, "a": {"status": a.get("status"), "fingerprint": a.get("fingerprint"),
                                           "metrics": a.get("metrics") or {}},
                       "b": {"status": b.get("status"), "fingerprint": b.get("fingerprint"),
                             "metrics": b.get("metrics") or {}}, "changes": changes}
    result = {"a": first_id, "b": second_id, "pipeline": {"a": first.get("pipeline"), "b": second.get("pipeline")},
              "params": side_by_side(first.get("params") or {}, second.get("params") or {}),
              "metrics": side_by_side(first.get("metrics") or {}, second.get("metrics") or {}),
              "logged_params": side_by_side(first.get("logged_params") or {}, second.get("logged_params") or {}),
              "steps": steps}
    if as_json:
        print_json(result)
        return EXIT_OK
    print(f"A = {first_id}\nB = {second_id}")
    for section in ("params", "logged_params", "metrics"):
        for key, row in result[section].items():
            mark = " " if row["same"] else "*"
            print(f"{mark} {section[:-1].replace('_', ' ')} {key}: A={row['a']!r}  B={row['b']!r}")
    for name, row in steps.items():
        if row["same"]:
            print(f"  step {name}: same fingerprint {row['a']['fingerprint'][:12]}")
        else:
            print(f"* step {name}: differs")
            for change in row["changes"]:
                print(f"      {change}")
    return EXIT_OK


def show_lineage(subject: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe lineage`: the tree an artifact, data version or model version came from."""
    from durapipe.catalog.lineage import lineage, render

    tree = lineage(open_store(store_url), subject)
    print(json_text(tree) if as_json else "\n".join(render(tree)))
    return EXIT_OK


def collect_garbage(older_than: float, do_apply: bool, store_url: str | None, as_json: bool) -> int:
    """`durapipe gc`: what is older than the cutoff and needed by nothing kept; deleted only with --apply."""
    from durapipe.catalog import gc

    store = open_store(store_url)
    collection = gc.collect(store, older_than)
    if do_apply:
        gc.apply(store, collection)
    if as_json:
        print_json({"applied": do_apply, "bytes": collection.bytes, "kept": collection.kept,
                    "delete": [{"key": k, "bytes": b, "why": w} for k, b, w in collection.delete]})
        return EXIT_OK
    for key, size, why in collection.delete:
        print(f"{'deleted' if do_apply else 'would delete'} {key}  {size} bytes  ({why})")
    kept = ", ".join(f"{n} {what}" for what, n in collection.kept.items())
    verb = "deleted" if do_apply else "would delete"
    print(f"{verb} {len(collection.delete)} keys, {collection.bytes} bytes; kept {kept}"
          + ("" if do_apply else "; run again with --apply to delete"))
    return EXIT_OK
