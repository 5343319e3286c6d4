"""Showing a run: a live view of each step while it runs, and the summary table after."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # rich takes ~0.1 s to import: `--json` runs never draw a table
    from rich.console import Console
    from rich.table import Table

from durapipe.model.contracts import FAILED, NOT_RUN, RAN, REUSED, RUNNING, WAITING, step_state
from durapipe.model.statuses import TERMINAL

STATE_STYLE = {WAITING: "dim", RUNNING: "yellow", REUSED: "cyan", RAN: "green", FAILED: "bold red", NOT_RUN: "dim"}


def _elapsed(info: dict[str, Any], now: datetime) -> str:
    started = info.get("started")
    if not started:
        return ""
    begin = datetime.fromisoformat(started)
    end = datetime.fromisoformat(info["finished"]) if info.get("finished") else now
    return f"{max(0.0, (end - begin).total_seconds()):.1f}s"


def progress_table(steps: dict[str, dict[str, Any]], title: str) -> Table:
    """A table of each step's state and elapsed time, from the orchestrator's custom status."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", min_width=len(title) + 2)
    table.add_column("step")
    table.add_column("state")
    table.add_column("elapsed", justify="right")
    now = datetime.now(timezone.utc)
    for name, info in steps.items():
        state = step_state(info.get("state", WAITING))
        table.add_row(name, f"[{STATE_STYLE.get(state, '')}]{state}[/]", _elapsed(info, now))
    return table


def watch(get_status: Callable[[], dict[str, Any]], title: str, live: bool, console: Console | None,
          pause: Callable[[float], Any] = time.sleep) -> dict[str, Any]:
    """Poll `get_status` until the run ends, showing progress; return the final status.

    `pause(seconds)` waits between polls; a pause that returns early when the run ends saves a poll.
    """
    shown: dict[str, str] = {}
    if live:
        from rich.live import Live

        with Live(progress_table({}, title), console=console, refresh_per_second=8, transient=True) as view:
            while True:
                status = get_status()
                view.update(progress_table(_steps(status), title))
                if _finished(status):
                    return status
                pause(0.1)
    while True:
        status = get_status()
        lines = []
        for name, info in _steps(status).items():
            state = info.get("state")
            if state not in (None, "waiting") and shown.get(name) != state:
                shown[name] = state
                lines.append(f"  {name}: {state}\n")
        if lines:
            # One write per poll, not one per step: a large run reused at once changes every step in one poll.
            sys.stderr.write("".join(lines))
            sys.stderr.flush()
        if _finished(status):
            return status
        pause(0.1)


def summary_table(run: dict[str, Any]) -> Table:
    """The final table of a run: each step's status, duration and fingerprint."""
    from rich.table import Table

    title = f"run {run['run_id']}: {run['status']}"
    table = Table(title=title, title_justify="left", min_width=len(title) + 2)
    for column in ("step", "status", "duration", "fingerprint"):
        table.add_column(column, justify="right" if column == "duration" else "left")
    order = [s["name"] for s in run.get("spec", {}).get("steps", [])]
    for name in order + [n for n in run["steps"] if n not in order]:
        if name not in run["steps"]:
            continue
        step = run["steps"][name]
        status = step["status"]
        extra = ""
        if step.get("partitions"):
            p = step["partitions"]
            extra = f" ({p['ran']} of {p['total']} partitions ran" + (f", {p['failed']} failed)" if p.get("failed")
                                                                      else ")")
        table.add_row(name, f"[{STATE_STYLE.get(status, '')}]{status}[/]{extra}",
                      f"{step.get('duration_s') or 0.0:.2f}s", (step.get("fingerprint") or "")[:12])
    return table


def reuse_sentence(run: dict[str, Any]) -> str:
    """One line saying how much of the run was reused."""
    statuses = [s["status"] for s in run["steps"].values()]
    reused, ran, failed = statuses.count("reused"), statuses.count("ran"), statuses.count("failed")
    if statuses and reused == len(statuses):
        return f"All {reused} steps were reused; nothing ran."
    sentence = f"{ran} step{'s' if ran != 1 else ''} ran, {reused} reused" + (f", {failed} failed." if failed else ".")
    # A mapped step's partitions are what ran: its step alone says little of a run of thousands of files.
    for name, step in run["steps"].items():
        p = step.get("partitions")
        if p:
            sentence += (f" Step {name}: {p['ran']} of {p['total']} partitions ran, {p['reused']} reused"
                         + (f", {p['failed']} failed." if p.get("failed") else "."))
    return sentence


def _steps(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    custom = status.get("customStatus") or {}
    return custom.get("steps", {}) if isinstance(custom, dict) else {}


def _finished(status: dict[str, Any]) -> bool:
    return status.get("runtimeStatus") in TERMINAL
