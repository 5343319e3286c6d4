"""The orchestrator's input for one run, built and checked the same way by every trigger
(the CLI, HTTP, blob arrival and the timer)."""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from typing import Any, Iterable

from durapipe.contracts import SCHEMA_VERSION
from durapipe.errors import UsageError
from durapipe.names import check_id, check_name


def new_run_id(pipeline: str) -> str:
    """A fresh, sortable run id such as `retrain-20261129-101500-3fa2c1`."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{check_name(pipeline, 'pipeline name')}-{stamp}-{secrets.token_hex(3)}"


def check_inputs(spec: dict[str, Any], given: Iterable[str], how: str = "") -> None:
    """Raise naming the first input `spec` does not have, or the first required input not given."""
    given = set(given)
    unknown = sorted(given - set(spec["inputs"]))
    if unknown:
        raise UsageError(f"Pipeline {spec['name']} has no input named {unknown[0]!r}; "
                         f"its inputs are: {', '.join(spec['inputs']) or 'none'}.")
    missing = [n for n, i in spec["inputs"].items() if not i.get("optional") and n not in given]
    if missing:
        hint = how.format(name=missing[0]) if how else ""
        raise UsageError(f"Pipeline {spec['name']} needs the input {missing[0]!r}{hint}.")


def build_run_request(spec: dict[str, Any], params: dict[str, Any], inputs: dict[str, Any], *, run_id: str,
                      code_root: str | None, trigger: dict[str, Any], force: list[str] | None = None,
                      max_parallel: int | None = None, register: dict[str, Any] | None = None,
                      deliver: dict[str, str] | None = None, input_hint: str = "") -> dict[str, Any]:
    """The orchestrator's input for one run of `spec` with resolved `params` and input sources."""
    force = list(force or [])
    unknown = [f for f in force if f != "all" and f not in {s["name"] for s in spec["steps"]}]
    if unknown:
        raise UsageError(f"--force names step {unknown[0]!r}, which pipeline {spec['name']} does not have.")
    check_inputs(spec, inputs, input_hint)
    return {
        "schema": SCHEMA_VERSION, "run_id": check_id(run_id), "spec": spec, "params": params, "inputs": inputs,
        "code_root": code_root, "force": force, "max_parallel": max_parallel or os.cpu_count() or 1,
        "trigger": trigger, "started": datetime.now(timezone.utc).isoformat(), "register": register,
        "deliver": deliver or {},
    }
