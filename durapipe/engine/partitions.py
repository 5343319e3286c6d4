"""Mapped steps: list the partitions of the mapped input, and gather per-partition outputs."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durapipe.model.contracts import Partition, PartitionEntry, StepResult, StepTask
from durapipe.core.canonical import canonical_json, hash_value, sha256_text
from durapipe.core.errors import DurapipeError
from durapipe.store.artifacts import artifact_manifest, put_manifest_bytes
from durapipe.engine.fingerprints import task_inputs

if TYPE_CHECKING:
    from durapipe.store.base import Store


def list_partitions(store: Store, task: StepTask) -> list[Partition]:
    """The files of the mapped input folder, sorted by name, each as {"name", "ref"}."""
    mapped = task["step"]["map"]
    ref = task_inputs({**task, "partition": None})[mapped]
    if ref["kind"] != "dir":
        raise DurapipeError(f"Step {task['step']['name']} is mapped over {mapped!r}, which must be a folder, "
                            "but it is a single file.")
    files = artifact_manifest(store, ref)["files"]
    return [{"name": name, "ref": {"hash": f["hash"], "kind": "file", "size": f["size"]}}
            for name, f in sorted(files.items())]


def gather_partitions(store: Store, task: StepTask) -> StepResult:
    """Combine per-partition results: each output becomes a folder with one entry per partition."""
    parts = task["partitions"]
    step = task["step"]
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
    return {
        "step": step["name"], "status": "ran" if ran else "reused",
        "fingerprint": hash_value(sorted(p["fingerprint"] for p in parts)),
        "outputs": outputs, "components": None,
        "duration_s": round(sum(p.get("duration_s") or 0.0 for p in ran), 6),
        "partitions": {"total": len(parts), "ran": len(ran), "reused": len(parts) - len(ran)},
        "by_partition": {p["partition"]["name"]: partition_entry(p) for p in parts},
    }


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
