"""`durapipe plan` and `durapipe rerun --plan`: what a run would reuse and what it would run, and why."""
from __future__ import annotations

from typing import Any

from durapipe.cli.output import print_json
from durapipe.cli.render import EXIT_OK, console


def plan_pipeline(target: str, params: dict[str, Any], inputs: dict[str, str], store_url: str | None,
                  force: list[str], as_json: bool) -> int:
    """`durapipe plan`: what would be reused and what would run, and why."""
    from durapipe.engine.pipeline_request import pipeline_request
    from durapipe.store.url import open_store
    from durapipe.views.plan import plan_report

    store = open_store(store_url)
    report = plan_report(store, pipeline_request(target, params, inputs, force, None, store, run_id="plan"))
    if as_json:
        print_json(report)
        return EXIT_OK
    out = console()
    for warning in report["warnings"]:
        out.print(f"[red]warning[/] {warning}")
    for row in report["steps"]:
        if row["action"] == "reuse":
            out.print(f"[cyan]reuse[/] {row['step']}  (fingerprint {(row['fingerprint'] or '')[:12]})")
        else:
            out.print(f"[yellow]run[/]   {row['step']}: {row['reason']}")
            for change in row["changes"]:
                out.print(f"        {change}")
    return EXIT_OK


def print_rerun_plan(report: dict[str, Any], as_json: bool) -> int:
    """Print what a rerun would reuse and run (`views.plan.rerun_plan_report`), as text or JSON."""
    if as_json:
        print_json(report)
        return EXIT_OK
    for row in report["steps"]:
        if row["action"] == "reuse":
            print(f"reuse {row['step']}  (fingerprint {row['fingerprint'][:12]})")
        else:
            print(f"run   {row['step']}: {row['reason']}")
        for change in row["changes"] if row["action"] == "run" else []:
            print(f"        {change}")
    return EXIT_OK
