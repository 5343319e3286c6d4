"""Mapped steps: list the partitions of the mapped input, and gather per-partition outputs."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from durapipe.model.contracts import Partition, PartitionCounts, PartitionEntry, StepResult, StepTask
from durapipe.model.spec import allowed_failures
from durapipe.core.canonical import canonical_json, hash_value, sha256_text
from durapipe.core.errors import DurapipeError, IntegrityError, NotFoundError
from durapipe.store.artifacts import artifact_manifest, put_manifest_bytes
from durapipe.engine.fingerprints import task_inputs
from durapipe.engine.run_step import InputLost

if TYPE_CHECKING:
    from durapipe.store.base import Store


def list_partitions(store: Store, task: StepTask) -> list[Partition]:
    """The files of the mapped input folder, sorted by name, each as {"name", "ref"}."""
    mapped = task["step"]["map"]
    ref = task_inputs({**task, "partition": None})[mapped]
    if ref["kind"] != "dir":
        raise DurapipeError(f"Step {task['step']['name']} is mapped over {mapped!r}, which must be a folder, "
                            "but it is a single file.")
    try:
        files = artifact_manifest(store, ref)["files"]
    except (IntegrityError, NotFoundError) as exc:
        raise InputLost(mapped, ref, str(exc)) from None  # the orchestrator has the folder made again
    return [{"name": name, "ref": {"hash": f["hash"], "kind": "file", "size": f["size"]}}
            for name, f in sorted(files.items())]


_LOG_IN_ERROR = re.compile(r"\(log artifact ([0-9a-f]{12})\)")


def gather_partitions(store: Store, task: StepTask) -> StepResult:
    """Combine per-partition results: each output becomes a folder with one entry per partition that did not fail.

    The step fails when more partitions failed (`task["failed"]`) than its error threshold allows; either way
    its result counts and lists them.
    """
    parts = task["partitions"]
    step = task["step"]
    failed = task.get("failed") or []
    total = len(parts) + len(failed)
    allowed = allowed_failures(step.get("error_threshold"), total)
    outputs = {}
    for output in step["outputs"]:
        files = {}
        for part in parts:
            ref = part["outputs"][output]
            if ref["kind"] != "file":
                raise DurapipeError(f"Mapped step {step['name']} must write a file for output {output!r}, "
                                    "not a folder.")
            files[part["partition"]["name"]] = {"hash": ref["hash"], "size": ref["size"]}
        outputs[output] = put_manifest(store, {"files": files})
    ran = [p for p in parts if p["status"] == "ran"]
    counts: PartitionCounts = {"total": total, "ran": len(ran), "reused": len(parts) - len(ran)}
    if failed or step.get("error_threshold") is not None:
        counts["failed"] = len(failed)
    result: StepResult = {
        "step": step["name"], "status": "ran" if ran or failed else "reused",
        "fingerprint": hash_value(sorted(p["fingerprint"] for p in parts)),
        "outputs": outputs, "components": None,
        "duration_s": round(sum(p.get("duration_s") or 0.0 for p in ran), 6),
        "partitions": counts,
        "by_partition": {**{p["partition"]["name"]: partition_entry(p) for p in parts},
                         **{f["name"]: failed_entry(store, f["error"]) for f in failed}},
    }
    if len(failed) > allowed:
        first = min(failed, key=lambda f: f["name"])
        result.update(status="failed", outputs={}, error=(
            f"{len(failed)} of {total} partitions failed, more than its error threshold allows ({allowed}); "
            f"partition {first['name']} failed: {first['error']}"))
    return result


def failed_entry(store: Store, error: str) -> PartitionEntry:
    """What the run record keeps of a failed partition: its error, and the log its error names."""
    found = _LOG_IN_ERROR.search(error)
    keys = list(store.list(f"artifacts/{found.group(1)}")) if found else []
    log = ({"hash": keys[0].rsplit("/", 1)[1], "kind": "file", "size": store.stat(keys[0]).size}
           if len(keys) == 1 else None)
    return {"status": "failed", "fingerprint": None, "duration_s": 0.0, "log": log, "error": error}


def partition_entry(part: StepResult) -> PartitionEntry:
    """What the run record keeps of one partition: small, since it passes through the orchestrator."""
    return {"status": part["status"], "fingerprint": part["fingerprint"],
            "duration_s": part.get("duration_s") or 0.0, "log": part.get("log")}


def put_manifest(store: Store, manifest: dict[str, Any]) -> dict[str, Any]:
    """Store a folder manifest content-addressed and return the folder's artifact ref."""
    text = canonical_json(manifest)
    digest = sha256_text(text)
    put_manifest_bytes(store, digest, text.encode("utf-8"))
    return {"hash": digest, "kind": "dir", "size": sum(f["size"] for f in manifest["files"].values())}
