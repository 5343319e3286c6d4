"""What the HTTP API answers about one run's parts: a step, its log, an artifact, the run's graph.

Each function returns the answer or raises `RequestError` with the status that says why not,
so the function app's handlers only parse and shape.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durapipe.core.errors import DurapipeError, UsageError
from durapipe.serving.downloads import Download, artifact_file, folder_zip
from durapipe.serving.service import RequestError, read_run

if TYPE_CHECKING:
    from durapipe.store.base import Store

GRAPH_TYPES = {"svg": "image/svg+xml", "png": "image/png", "dot": "text/vnd.graphviz; charset=utf-8",
               "mermaid": "text/plain; charset=utf-8"}


def recorded_run(store: Store, run_id: str) -> dict[str, Any]:
    """The run record of `run_id`; 400 for a malformed id, 404 when there is none (yet)."""
    try:
        record = read_run(store, run_id)
    except DurapipeError as exc:
        raise RequestError(400, str(exc)) from None
    if record is None:
        raise RequestError(404, f"There is no recorded run {run_id!r} (yet).")
    return record


def step_view(store: Store, run_id: str, step: str) -> dict[str, Any]:
    """One step of a run with its fingerprint components; 404 for an unknown step."""
    from durapipe.views.run_details import step_detail

    record = recorded_run(store, run_id)
    try:
        return step_detail(store, record, step)
    except UsageError as exc:
        raise RequestError(404, str(exc)) from None


def partition_page(store: Store, run_id: str, step: str, status: str | None, limit: int,
                   offset: int) -> dict[str, Any]:
    """A page of one mapped step's partitions by name (those in `status` only, when given), with the offset of the
    next page (or None); 400 for a bad page or a step that is not mapped, 404 for an unknown step."""
    from durapipe.views.run_details import is_mapped, step_entry

    if not 1 <= limit <= 1000 or offset < 0:
        raise RequestError(400, "'limit' must be from 1 to 1000 and 'offset' must not be negative.")
    record = recorded_run(store, run_id)
    try:
        entry = step_entry(record, step)
    except UsageError as exc:
        raise RequestError(404, str(exc)) from None
    if not is_mapped(record, step):
        raise RequestError(400, f"Step {step} of run {run_id} is not mapped, so it has no partitions.")
    parts = sorted((entry.get("by_partition") or {}).items())
    if status is not None:
        parts = [(name, p) for name, p in parts if p.get("status") == status]
    page = parts[offset:offset + limit]
    return {"run_id": run_id, "step": step, "partitions": [{"name": name, **p} for name, p in page],
            "next_offset": offset + limit if offset + limit < len(parts) else None, "total": len(parts)}


def step_log(store: Store, run_id: str, step: str, partition: str | None) -> Download:
    """What a step (or one partition of a mapped step) printed, to stream; 404 when it has no log."""
    from durapipe.views.run_details import log_ref, mapped_hint, no_log_sentence, step_entry

    record = recorded_run(store, run_id)
    try:
        entry = step_entry(record, step, partition)
    except UsageError as exc:
        raise RequestError(404, str(exc)) from None
    ref = log_ref(store, entry)
    if ref is None:
        if partition is None and mapped_hint(record, step):
            raise RequestError(404, f"Step {step} of run {run_id} is mapped: ask for one partition's log "
                                    "with ?partition=NAME.")
        raise RequestError(404, no_log_sentence(run_id, step if partition is None else
                                                f"{step} (partition {partition})", entry))
    return artifact_file(store, f"{step}.log", ref)


def artifact(store: Store, run_id: str, digest: str) -> Download:
    """An artifact the run names (a folder as a zip), to stream; 404 for one it does not name."""
    from durapipe.views.run_details import named_artifact

    record = recorded_run(store, run_id)
    try:
        name, ref = named_artifact(record, digest)
    except UsageError as exc:
        raise RequestError(404, str(exc)) from None
    return artifact_file(store, name, ref) if ref["kind"] == "file" else folder_zip(store, name, ref)


def graph_format(fmt: str | None) -> str:
    """The graph format a request asks for (default svg); 400 for another."""
    fmt = fmt or "svg"
    if fmt not in GRAPH_TYPES:
        raise RequestError(400, f"'format' must be one of {', '.join(GRAPH_TYPES)}, not {fmt!r}.")
    return fmt


def run_graph(store: Store, run_id: str, live: dict[str, dict[str, Any]] | None, fmt: str | None) -> tuple[bytes, str]:
    """(picture, content type) of a run's DAG, steps coloured by state; 501 where Graphviz is missing."""
    from durapipe.views.graph import graph_of_run

    fmt = graph_format(fmt)
    return _rendered(graph_of_run(recorded_run(store, run_id), live), fmt), GRAPH_TYPES[fmt]


def spec_graph(spec: dict[str, Any], fmt: str | None) -> tuple[bytes, str]:
    """(picture, content type) of a pipeline spec's DAG; 501 where Graphviz is missing."""
    from durapipe.views.graph import graph_of_spec

    fmt = graph_format(fmt)
    return _rendered(graph_of_spec(spec), fmt), GRAPH_TYPES[fmt]


def _rendered(picture: Any, fmt: str) -> bytes:
    from durapipe.views.graph import GraphvizMissing, render

    try:
        return render(picture, fmt)
    except GraphvizMissing as exc:
        raise RequestError(501, str(exc)) from None
