"""Lineage: where an artifact, a data version or a model version came from, recursively.

Each produced artifact leads to the run and step that made it (`index/producers/<hash>.json`,
written when a run is recorded; older stores are searched run by run), that step's fingerprint
components (code files and their hashes, parameters, environment) and its inputs, down to
registered data versions or external files.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from durapipe.core.errors import NotFoundError, UsageError
from durapipe.store.keys import check_digest, producer_key
from durapipe.store.records import iter_run_records, read_run_record

if TYPE_CHECKING:
    from durapipe.store.base import Store

MAX_DEPTH = 50


def parse_subject(text: str) -> tuple[str, str, int | None]:
    """`artifact:HASH`, `data:NAME[:V]` or `model:NAME:V|champion` as (kind, name or hash, version)."""
    kind, _, rest = text.partition(":")
    if kind == "artifact":
        return kind, check_digest(rest, "artifact hash"), None
    if kind in ("data", "model"):
        name, _, version = rest.partition(":")
        if kind == "model" and version == "champion":
            return kind, name, None
        if version and not (version.isdigit() and int(version) >= 1):
            raise UsageError(f"The version in {text!r} must be a whole number from 1.")
        return kind, name, int(version) if version else None
    raise UsageError(f"Lineage of {text!r} is not known: name artifact:HASH, data:NAME:V or model:NAME:V.")


def lineage(store: Store, subject: str) -> dict[str, Any]:
    """The lineage tree of `subject` (see parse_subject) as JSON."""
    from durapipe.catalog import data_assets
    from durapipe.catalog import registry

    kind, name, version = parse_subject(subject)
    tracer = _Tracer(store)
    if kind == "artifact":
        return tracer.artifact(name, 0)
    if kind == "data":
        entry = data_assets.get_version(store, name, version)
        return {"kind": "data", "name": name, "version": entry["version"], "hash": entry["hash"],
                "source": entry.get("source"), "created": entry.get("created"),
                "artifact": tracer.artifact(entry["hash"], 0, skip_data=(name, entry["version"]))}
    entry = registry.champion(store, name) if version is None else registry.get_version(store, name, version)
    if entry is None:
        raise NotFoundError(f"Model {name} has no champion yet.")
    output = entry.get("output") or "model"
    return {"kind": "model", "name": name, "version": entry["version"], "run_id": entry.get("run_id"),
            # A model registered from files (`models register --path`) says so: no run made it.
            "source": entry.get("source") or {"kind": "run", "run_id": entry.get("run_id")},
            "metric": entry.get("metric"), "metrics": entry.get("metrics"), "output": output,
            "artifact": tracer.artifact(entry["outputs"][output]["hash"], 0, hint_run=entry.get("run_id"))}


class _Tracer:
    """Walks producers; caches run records, since one run usually made a whole chain."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.runs: dict[str, dict[str, Any]] = {}
        self._all_runs: list[dict[str, Any]] | None = None

    def _run(self, run_id: str) -> dict[str, Any] | None:
        if run_id not in self.runs:
            try:
                self.runs[run_id] = read_run_record(self.store, run_id)
            except NotFoundError:
                return None
        return self.runs[run_id]

    def _every_run(self) -> list[dict[str, Any]]:
        if self._all_runs is None:
            self._all_runs = sorted(iter_run_records(self.store), key=lambda r: r.get("started") or "")
            self.runs.update({r["run_id"]: r for r in self._all_runs})
        return self._all_runs

    def _producer(self, digest: str, hint_run: str | None) -> tuple[dict[str, Any], str, str] | None:
        """(run record, step, output) of the step that made `digest`, if any run did."""
        candidates = []
        try:
            entry = json.loads(self.store.get(producer_key(digest)))
            candidates.append((entry["run_id"], entry["step"]))
        except NotFoundError:
            pass
        if hint_run:
            candidates.insert(0, (hint_run, None))
        for run_id, step in candidates:
            run = self._run(run_id)
            found = run and _find_output(run, digest, step)
            if found:
                return run, *found
        for run in self._every_run():
            found = _find_output(run, digest, None)
            if found:
                return run, *found
        return None

    def artifact(self, digest: str, depth: int, hint_run: str | None = None,
                 skip_data: tuple[str, int] | None = None) -> dict[str, Any]:
        node: dict[str, Any] = {"kind": "artifact", "hash": digest}
        data = [d for d in _data_versions_holding(self.store, digest) if (d["data"], d["version"]) != skip_data]
        if data:
            node["data_versions"] = data
        if depth >= MAX_DEPTH:
            node["truncated"] = True
            return node
        produced = self._producer(digest, hint_run)
        if produced is None:
            if not data:  # a registered data version is where lineage ends; anything else came from outside
                node["source"] = self._input_source(digest) or {"kind": "external"}
            return node
        run, step_name, output = produced
        step = run["steps"][step_name]
        components = step.get("components") or {}
        node["produced_by"] = {
            "run_id": run["run_id"], "pipeline": run.get("pipeline"), "step": step_name, "output": output,
            "fingerprint": step.get("fingerprint"), "git": run.get("git"),
            "code": components.get("code") or {}, "params": components.get("params") or {},
            "environment": components.get("env") or {}, "version": components.get("version")}
        node["inputs"] = {name: self.artifact(h, depth + 1, hint_run=run["run_id"])
                          for name, h in sorted((components.get("inputs") or {}).items()) if isinstance(h, str)}
        return node

    def _input_source(self, digest: str) -> dict[str, Any] | None:
        """How a run was given `digest` as a pipeline input (a data reference, a blob key), if one was."""
        for run in self._every_run():
            for name, ref in (run.get("inputs") or {}).items():
                if isinstance(ref, dict) and ref.get("hash") == digest:
                    note = ((run.get("trigger") or {}).get("inputs") or {}).get(name)
                    return {"kind": "pipeline input", "run_id": run["run_id"], "input": name,
                            **({"resolved": note} if note else {})}
        return None


def _find_output(run: dict[str, Any], digest: str, step: str | None) -> tuple[str, str] | None:
    for name, entry in (run.get("steps") or {}).items():
        if step is not None and name != step:
            continue
        if not entry.get("components"):
            continue
        for output, ref in (entry.get("outputs") or {}).items():
            if ref.get("hash") == digest:
                return name, output
    return None


def _data_versions_holding(store: Store, digest: str) -> list[dict[str, Any]]:
    found = []
    for key in store.list("index/data/"):
        if key.endswith(f"/{digest}.json"):
            claim = json.loads(store.get(key))
            if claim.get("version") is not None:
                found.append({"data": key.split("/")[2], "version": claim["version"]})
    return found


def render(tree: dict[str, Any]) -> list[str]:
    """The tree as indented text lines."""
    lines: list[str] = []
    if tree["kind"] == "model":
        source = tree.get("source") or {}
        made = f"files {source.get('path')}" if source.get("kind") == "files" else f"run {tree['run_id']}"
        lines.append(f"model {tree['name']}:{tree['version']}  ({made}, "
                     f"{tree['metric']}={(tree.get('metrics') or {}).get(tree['metric'])})")
        _artifact_lines(tree["artifact"], 1, lines, tree["output"])
    elif tree["kind"] == "data":
        source = tree.get("source") or {}
        lines.append(f"data {tree['name']}:{tree['version']}  ({source.get('kind')} "
                     f"{source.get('path') or source.get('key') or source.get('run_id') or ''})")
        _artifact_lines(tree["artifact"], 1, lines, None)
    else:
        _artifact_lines(tree, 0, lines, None)
    return lines


def _artifact_lines(node: dict[str, Any], depth: int, lines: list[str], label: str | None) -> None:
    pad = "  " * depth
    data = "".join(f"  = data {d['data']}:{d['version']}" for d in node.get("data_versions", []))
    lines.append(f"{pad}{label + ': ' if label else ''}artifact {node['hash'][:12]}{data}")
    produced = node.get("produced_by")
    if produced is None:
        source = node.get("source") or {}
        resolved = source.get("resolved") or {}
        if source.get("kind") == "pipeline input":
            lines.append(f"{pad}  input {source['input']} of run {source['run_id']}"
                         + (f" ({resolved.get('reference')})" if resolved.get("reference") else ""))
        elif not node.get("data_versions"):
            lines.append(f"{pad}  external (no run produced it)")
        return
    git = produced.get("git") or {}
    lines.append(f"{pad}  made by step {produced['step']} of run {produced['run_id']}  fingerprint "
                 f"{(produced.get('fingerprint') or '')[:12]}"
                 + (f"  git {git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}" if git.get("commit") else ""))
    for code, digest in sorted(produced["code"].items()):
        lines.append(f"{pad}    code {code}  {digest[:12]}")
    if produced["params"]:
        lines.append(f"{pad}    params {json.dumps(produced['params'], sort_keys=True)}")
    env = produced.get("environment") or {}
    if env:
        lines.append(f"{pad}    environment {env.get('python', '')} "
                     f"{len(env.get('packages') or {})} packages")
    for name, child in node.get("inputs", {}).items():
        _artifact_lines(child, depth + 2, lines, f"input {name}")
