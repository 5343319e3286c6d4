"""Looking inside a recorded run: one step's (or partition's) entry, its log, its artifacts.

Shared by the CLI (`logs`, `explain`) and the HTTP API (step, log and artifact routes), so
both find the same entry and say the same sentence when it is not there.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import TYPE_CHECKING, Any

from durapipe.core.errors import UsageError

if TYPE_CHECKING:
    from durapipe.store.base import Store

_FAILED_PARTITION = re.compile(r"\bpartition (\S+) failed:")
_LOG_IN_ERROR = re.compile(r"\(log artifact ([0-9a-f]{12})\)")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def is_mapped(run: dict[str, Any], step: str) -> bool:
    """Whether `step` of the run's spec is mapped over partitions."""
    return any(s["name"] == step and s.get("map") for s in run.get("spec", {}).get("steps", []))


def step_entry(run: dict[str, Any], step: str, partition: str | None = None) -> dict[str, Any]:
    """The run's entry for `step`, or for one partition of it; a UsageError naming what exists otherwise."""
    run_id = run["run_id"]
    entry = run.get("steps", {}).get(step)
    if entry is None:
        raise UsageError(f"Run {run_id} has no step {step!r}; its steps are: {', '.join(run.get('steps', {}))}.")
    if partition is None:
        return entry
    if not is_mapped(run, step):
        raise UsageError(f"Step {step} of run {run_id} is not mapped, so it has no partitions; leave out --partition.")
    found = (entry.get("by_partition") or {}).get(partition)
    if found is not None:
        return {"error": None, **found}  # a failed partition (of a step with an error threshold) keeps its error
    failed = failed_partition(entry.get("error"))
    if failed == partition:
        return {"status": "failed", "fingerprint": None, "log": None, "error": entry["error"], "components": None}
    known = sorted(entry.get("by_partition") or {}) or ([failed] if failed else [])
    raise UsageError(f"Step {step} of run {run_id} has no partition {partition!r}"
                     + (f"; its partitions are: {', '.join(known)}." if known else
                        "; none of its partitions was recorded."))


def failed_partition(error: str | None) -> str | None:
    """The partition a mapped step's error names (`partition NAME failed: ...`), if any."""
    found = _FAILED_PARTITION.search(error or "")
    return found.group(1) if found else None


def mapped_hint(run: dict[str, Any], step: str) -> str | None:
    """For a mapped step asked about as a whole: the sentence saying which --partition to name."""
    entry = run.get("steps", {}).get(step) or {}
    if not is_mapped(run, step):
        return None
    names = sorted(entry.get("by_partition") or {})
    failed = failed_partition(entry.get("error"))
    if failed:
        return f"Step {step} of run {run['run_id']} is mapped; partition {failed} failed: add --partition {failed}."
    if names:
        return (f"Step {step} of run {run['run_id']} is mapped over {len(names)} partitions; name one with "
                f"--partition NAME ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}).")
    return None


def log_ref(store: Store, entry: dict[str, Any]) -> dict[str, Any] | None:
    """The artifact of what a step (or partition) printed; a failed one has no commit, its error names the log."""
    if entry.get("log") is not None:
        return entry["log"]
    found = _LOG_IN_ERROR.search(entry.get("error") or "")
    keys = list(store.list(f"artifacts/{found.group(1)}")) if found else []
    if len(keys) == 1:
        return {"hash": keys[0].rsplit("/", 1)[1], "kind": "file", "size": store.stat(keys[0]).size}
    return None


def no_log_sentence(run_id: str, step: str, entry: dict[str, Any]) -> str:
    """Why a step has no log, in one sentence."""
    why = {"failed": "failed before it could write one", "not_run": "did not run"}.get(entry["status"], entry["status"])
    return f"Step {step} of run {run_id} has no log: it {why}."


def step_detail(store: Store, run: dict[str, Any], step: str) -> dict[str, Any]:
    """Everything the record has of one step, with the fingerprint components of its commit."""
    from durapipe.store.records import find_step_record

    entry = step_entry(run, step)
    components = entry.get("components")
    if components is None and entry.get("fingerprint") and not is_mapped(run, step):
        record = find_step_record(store, entry["fingerprint"])
        components = record.get("components") if record else None
    keys = ("status", "fingerprint", "duration_s", "started", "finished", "outputs", "error", "log",
            "partitions", "by_partition", "metrics")
    return {"run_id": run["run_id"], "step": step, "mapped": is_mapped(run, step),
            **{k: entry.get(k) for k in keys}, "components": components}


def run_artifacts(run: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every artifact a run names (inputs, outputs, step outputs and logs), by hash: (file name, ref)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, ref in (run.get("inputs") or {}).items():
        found.setdefault(ref["hash"], (name, ref))
    for step, entry in (run.get("steps") or {}).items():
        for name, ref in (entry.get("outputs") or {}).items():
            found.setdefault(ref["hash"], (f"{step}.{name}", ref))
        if entry.get("log"):
            found.setdefault(entry["log"]["hash"], (f"{step}.log", entry["log"]))
        for part, info in (entry.get("by_partition") or {}).items():
            if info.get("log"):
                found.setdefault(info["log"]["hash"], (f"{step}.{part}.log", info["log"]))
    for name, ref in (run.get("outputs") or {}).items():
        found[ref["hash"]] = (name, ref)  # a pipeline output's own name wins over the step's
    return found


def named_artifact(run: dict[str, Any], digest: str) -> tuple[str, dict[str, Any]]:
    """(file name, ref) of an artifact the run names, the name safe for a Content-Disposition header."""
    if not _DIGEST.fullmatch(digest or ""):
        raise UsageError(f"{digest!r} is not an artifact hash: it must be 64 lowercase hex digits.")
    named = run_artifacts(run).get(digest)
    if named is None:
        raise UsageError(f"Run {run['run_id']} has no artifact {digest[:12]}.")
    name, ref = named
    return _UNSAFE_IN_FILE_NAME.sub("_", name), ref


def artifact_download(store: Store, run: dict[str, Any], digest: str) -> tuple[str, bytes]:
    """(file name, bytes) of an artifact the run names; a folder comes as a zip of its files."""
    from durapipe.store.artifacts import artifact_manifest, read_artifact_bytes

    name, ref = named_artifact(run, digest)
    if ref["kind"] == "file":
        return name, read_artifact_bytes(store, ref)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, info in sorted(artifact_manifest(store, ref)["files"].items()):
            archive.writestr(path, read_artifact_bytes(store, {"hash": info["hash"], "kind": "file",
                                                               "size": info["size"]}))
    return f"{name}.zip", buffer.getvalue()
