"""Running a recorded run again: as a new run with its parameters and inputs, or under its own id after it failed."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durapipe.core.errors import DurapipeError, NotFoundError, UsageError
from durapipe.engine.pipeline_request import pipeline_request
from durapipe.store.records import PLANNED_BY, read_run_record, write_run_record

if TYPE_CHECKING:
    from durapipe.store.base import Store


def rerun_request(store: Store, run: dict[str, Any], run_id: str | None, force: list[str],
                  max_parallel: int | None) -> dict[str, Any]:
    """The request that runs `run`'s pipeline again with its parameters and its resolved input artifacts."""
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


def _served_request(store: Store, run: dict[str, Any], inputs: dict[str, Any], run_id: str | None) -> dict[str, Any]:
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


def mark_running_again(store: Store, run_id: str) -> None:
    """Record failed run `run_id` as running again, until the new attempt under its id records its outcome."""
    try:
        record = read_run_record(store, run_id)
    except NotFoundError:
        return
    record.update(status="running", finished=None, error=None)
    record.pop(PLANNED_BY, None)  # the new execution under its id plans it (`plan.check_instance`)
    write_run_record(store, record)
