"""What the run commands print: the console, a run's outcome, its summary and its partitions."""
from __future__ import annotations

import sys
from typing import Any

from durapipe.cli.output import print_json
from durapipe.core.errors import NotFoundError
from durapipe.model.statuses import failure_reason
from durapipe.store.records import read_run_record

EXIT_OK, EXIT_FAILED = 0, 1


def console() -> Any:
    """The console for human output (stderr stays free for errors)."""
    # rich takes ~0.1 s to import: only the human-readable paths pay for it.
    from rich.console import Console

    return Console(highlight=False)


def print_outcome(session: Any, run_id: str, as_json: bool) -> int:
    """Follow run `run_id` until it ends (live on a terminal), print its outcome and return its exit code."""
    from durapipe.views.progress import watch

    live = not as_json and sys.stdout.isatty()
    out = console() if live else None
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
            (out or console()).print(f"[bold red]run {run_id} failed:[/] {message}")
        return EXIT_FAILED
    return print_run(record, as_json, out)


def _status_error(status: dict[str, Any]) -> str:
    output = status.get("output")
    if isinstance(output, str) and output:
        return failure_reason(output.splitlines()[0])
    return f"the run ended as {status.get('runtimeStatus', 'unknown')}"


def print_run(record: dict[str, Any], as_json: bool, out: Any = None) -> int:
    """Print a run record (table or JSON) and return the exit code its status means."""
    from durapipe.engine.record_run import run_summary

    if as_json:
        print_json(run_summary(record))
    else:
        from durapipe.views.progress import reuse_sentence, summary_table

        out = out or console()
        out.print(summary_table(record))
        out.print(reuse_sentence(record))
        if record.get("error"):
            out.print(f"[bold red]{record['error']}[/]")
        for output, entry in (record.get("published") or {}).items():
            out.print(f"published output {output} as data {entry['data']} version {entry['version']}")
        if record.get("registration"):
            out.print(f"model {record['registration']['model']}: {record['registration']['decision']}", markup=False)
        elif record.get("registered"):
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
                         f"{(info.get('fingerprint') or '')[:12]}" + (f"  {info['error']}" if info.get("error") else ""))
        if failed and failed not in parts:
            lines.append(f"  {failed}  failed")
    return lines
