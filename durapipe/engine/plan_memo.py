"""A plan that reused every step, remembered, so planning the same run again checks instead of recomputing.

Planning fingerprints every step: its code closure (remembered by the closure cache), its
parameters, its input hashes and its environment, hashed together; at 1,000 steps that is most
of a no-change run's planning. When a plan reused every step, what decided each fingerprint is
written down with it (`.durapipe/cache/plans/` of the code root's project), and the next plan
of the same request uses those fingerprints only when all of that still holds:

- the request: the spec (by its checked version hash), the run's parameters, the bound inputs'
  content, the code root; and the interpreter, the working folder, the import path and the
  closure analyser's own source, as the closure cache's keys name them;
- where each step's code is (file, qualified name, first line) and the project it is read in;
- every file and probed path any of the closures read (size, mtime, ctime, inode), what the
  import path finds for each top-level module they import from outside the project, and the
  installed version of each distribution providing one;
- each step's commit, found again in the step index (its etag checked as for any reuse), with
  the same outputs the plan had: a downstream step's input hashes are its upstream's outputs.

Anything else (a forced step, `cache=False`, a mapped step, a step that would run, a closure
read from a file written in the last seconds) plans the usual way and writes no memo.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from durapipe.canonical import hash_value
from durapipe.fingerprint.closure_cache import Dependencies, analyser_hash
from durapipe.fingerprint.resolve import distributions_of, spec_signature
from durapipe.project import STATE_FOLDER, find_project_root

FORMAT = 1
FOLDER = "plans"
KEEP = 8  # memos kept per project, the newest


def applies(request: dict[str, Any]) -> bool:
    """Whether a plan of `request` may be remembered or recalled: nothing forced, no uncached or mapped step."""
    steps = request["spec"]["steps"]
    return (bool(request.get("code_root")) and bool(request["spec"].get("version")) and not request.get("force")
            and all(not s.get("map") and s["options"].get("cache", True) for s in steps))


def memo_key(request: dict[str, Any], inputs: dict[str, Any]) -> str:
    """What a plan of `request` with the bound `inputs` is a function of, besides the files checked later."""
    # The version is the hash of the spec's body, checked when the spec was read (planning checks its
    # request's; `durapipe plan` builds its own from a definition): a spec claiming another's version is
    # refused there.
    version = request["spec"]["version"]
    return hash_value([FORMAT, analyser_hash(), sys.version, os.getcwd(), list(sys.path), version,
                       request["params"], inputs, request["code_root"]])


def memo_path(request: dict[str, Any], key: str) -> Path:
    return find_project_root(request["code_root"]) / STATE_FOLDER / "cache" / FOLDER / f"{key[:40]}.json"


def recall(request: dict[str, Any], inputs: dict[str, Any], index: Any) -> list[tuple[str, str, dict[str, Any]]] | None:
    """[(step, fingerprint, committed record)] in spec order, when a remembered plan still holds; else None."""
    from durapipe.engine.fingerprints import code_location, step_code

    key = memo_key(request, inputs)
    try:
        memo = json.loads(memo_path(request, key).read_text())
        if memo.get("key") != key:
            return None
        steps = request["spec"]["steps"]
        if [s["name"] for s in steps] != [m[0] for m in memo["steps"]]:
            return None
        for step, (_, _, location, root) in zip(steps, memo["steps"]):
            _, code, project_root = step_code(step["ref"], request["code_root"])
            if list(code_location(code) or []) != location or str(project_root) != root:
                return None
        deps = Dependencies.from_json(memo["deps"])
        if not deps.unchanged():
            return None
        if any(spec_signature(top) != (found if found is None else list(found)) for top, found in memo["specs"].items()):
            return None
        if any(distributions_of(top) != packages for top, packages in memo["packages"].items()):
            return None
        recalled = []
        for (name, fingerprint, _, _), outputs in zip(memo["steps"], memo["outputs"]):
            record = index.find(fingerprint)
            if record is None or {k: ref["hash"] for k, ref in record["outputs"].items()} != outputs:
                return None
            recalled.append((name, fingerprint, record))
        return recalled
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no memo, or one this durapipe cannot read: plan the usual way


def remember(request: dict[str, Any], inputs: dict[str, Any], plan: Any,
             closures: dict[str, tuple[dict[str, Any], Dependencies | None]]) -> None:
    """Write down a plan that reused every step, with what decided its fingerprints (only when all of it is settled)."""
    from durapipe.engine.fingerprints import code_location, step_code

    if any(deps is None for _, deps in closures.values()):
        return  # a file read was written just now: its signature cannot vouch for it yet
    files: dict[str, Any] = {}
    entries: dict[str, Any] = {}
    specs: dict[str, Any] = {}
    external: set[str] = set()
    for value, deps in closures.values():
        files.update(deps.files)
        entries.update(deps.entries)
        specs.update(value.get("specs") or {})
        external.update(value.get("external") or [])
    steps = []
    for step, planned in zip(request["spec"]["steps"], plan.steps):
        _, code, project_root = step_code(step["ref"], request["code_root"])
        location = code_location(code)
        if location is None or planned.reused is None:
            return
        steps.append([planned.name, planned.fingerprint, list(location), str(project_root)])
    key = memo_key(request, inputs)
    memo = {"key": key, "steps": steps, "deps": Dependencies(files, entries).to_json(),
            "outputs": [{k: ref["hash"] for k, ref in p.reused["outputs"].items()} for p in plan.steps],
            "specs": specs, "packages": {top: distributions_of(top) for top in sorted(external)}}
    _write(memo_path(request, key), json.dumps(memo, separators=(",", ":")))


def _write(path: Path, text: str) -> None:
    # A project folder that cannot be written (a read-only app on Azure) only costs speed.
    from durapipe.stores.base import keep_newest, write_file_atomically

    try:
        write_file_atomically(path, iter([text.encode()]))
        keep_newest(path.parent, KEEP)
    except OSError:
        pass
