"""A plan that reused every step, remembered, so planning the same run again checks instead of recomputing.

Planning fingerprints every step: its code closure (remembered by the closure cache), its
parameters, its input hashes and its environment, hashed together; at 1,000 steps that is most
of a no-change run's planning. When a plan reused every step, what decided each fingerprint is
written down with it (`.durapipe/cache/plans/` of the code root's project). The next plan of the
same request takes a step's fingerprint from there, without hashing the step again, when all of
this still holds:

- the request: the spec (by its checked version hash), the run's parameters, the bound inputs'
  content, the code root; and the interpreter, the working folder, the import path and the
  closure analyser's own source, as the closure cache's keys name them (else nothing is taken);
- where the step's code is (file, qualified name, first line) and the project it is read in;
- every file and probed path the step's closure read (size, mtime, ctime, inode), what the
  import path finds for each top-level module it imports from outside the project, and the
  installed version of each distribution providing one;
- the outputs of every step it reads, as planned now, are the outputs the memo had: its input
  hashes are theirs. Its commit is then found in the step index as for any reuse.

So after an edit of one module, only the steps whose closure read that file, and those
downstream of a step whose outputs changed, are fingerprinted again; the rest are checked.
Anything else (a forced step, `cache=False`, a mapped step, a step that would run, a closure read
from a file written in the last seconds) plans the usual way and writes no memo.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from durapipe.cache import folders
from durapipe.cache.entries import EntryFolder
from durapipe.core.canonical import hash_value
from durapipe.core.paths import find_project_root
from durapipe.fingerprint.closure_cache import Dependencies, analyser_hash
from durapipe.fingerprint.code import Collected
from durapipe.fingerprint.resolve import distributions_of, spec_signature
from durapipe.model.spec import step_options

FORMAT = 2
FOLDER = "plans"
KEEP = 8  # memos kept per project, the newest


@dataclass
class Recalled:
    """What a remembered plan still vouches for, step by step."""

    fingerprints: dict[str, str]  # step -> fingerprint, for each step whose code and closure still hold
    outputs: dict[str, dict[str, str]]  # step -> output -> content hash, as the remembered plan had them
    closures: dict[str, dict[str, Any]]  # step -> what its closure read, checked unchanged now (to carry over)
    given: set[str] = field(default_factory=set)  # the steps `fingerprint` gave a fingerprint to
    declaring: set[str] = field(default_factory=set)  # the steps it left to fingerprint for what they declare

    def fingerprint(self, step: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> str | None:
        """`step`'s fingerprint when it still holds, given the `outputs` planned so far; else None."""
        found = self.fingerprints.get(step["name"])
        if found is None:
            return None
        options = step_options(step)
        if options.get("reads") or options.get("env"):
            # Declared files and variables are hashed into the fingerprint, and no closure check covers them.
            self.declaring.add(step["name"])
            return None
        for binding in step["inputs"].values():
            upstream = binding.get("step")
            if upstream is not None and output_hashes(outputs[upstream]) != self.outputs.get(upstream):
                return None  # its input hashes are not the ones it was fingerprinted with
        self.given.add(step["name"])
        return found

    def says(self, plan: Any) -> bool:
        """True when the memo already holds `plan`: every fingerprint taken from it, every output as it has it."""
        return all(
            (p.name in self.given or (p.name in self.declaring and p.fingerprint == self.fingerprints.get(p.name)))
            and p.reused is not None and output_hashes(p.reused["outputs"]) == self.outputs.get(p.name)
            for p in plan.steps)


def output_hashes(outputs: dict[str, Any]) -> dict[str, str]:
    """output name -> content hash of a step's outputs (artifact refs): what a downstream step's fingerprint reads."""
    return {name: ref["hash"] for name, ref in outputs.items()}


def applies(request: dict[str, Any]) -> bool:
    """Whether a plan of `request` may be remembered or recalled: nothing forced, no uncached or mapped step."""
    steps = request["spec"]["steps"]
    return (bool(request.get("code_root")) and bool(request["spec"].get("version")) and not request.get("force")
            and all(not s.get("map") and step_options(s)["cache"] for s in steps))


def memo_key(request: dict[str, Any], inputs: dict[str, Any]) -> str:
    """What a plan of `request` with the bound `inputs` is a function of, besides the files checked later."""
    # The version is the hash of the spec's body, checked when the spec was read (planning checks its
    # request's; `durapipe plan` builds its own from a definition): a spec claiming another's version is
    # refused there.
    version = request["spec"]["version"]
    return hash_value([FORMAT, analyser_hash(), sys.version, os.getcwd(), list(sys.path), version,
                       request["params"], inputs, request["code_root"]])


def memos_of(request: dict[str, Any]) -> EntryFolder:
    """The remembered plans of the project `request`'s code is in."""
    return EntryFolder(folders.in_project(find_project_root(request["code_root"]), FOLDER), KEEP)


def recall(request: dict[str, Any], inputs: dict[str, Any]) -> Recalled | None:
    """What the remembered plan of this request still vouches for; None when there is none for it."""
    from durapipe.engine.fingerprints import code_location, step_code

    key = memo_key(request, inputs)
    memo = memos_of(request).read(key)
    if memo is None:
        return None
    try:
        steps = request["spec"]["steps"]
        if [s["name"] for s in steps] != [m[0] for m in memo["steps"]]:
            return None
        signatures = Dependencies.from_json(memo)  # of every path any closure read
        specs: dict[str, Any] = {}
        packages: dict[str, Any] = {}
        holds: dict[int, dict[str, Any] | None] = {}
        recalled = Recalled({}, {}, {})
        for step, (name, fingerprint, location, root, number, outputs) in zip(steps, memo["steps"]):
            recalled.outputs[name] = outputs
            _, code, project_root = step_code(step["ref"], request["code_root"])
            if list(code_location(code) or []) != location or str(project_root) != root:
                continue
            if number not in holds:
                holds[number] = _closure_holding(memo["closures"][number], signatures, memo["packages"],
                                                 specs, packages)
            if holds[number] is not None:
                recalled.fingerprints[name] = fingerprint
                recalled.closures[name] = holds[number]
        return recalled
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None  # a memo this durapipe cannot read: plan the usual way


def _closure_holding(closure: dict[str, Any], signatures: Dependencies, remembered_packages: dict[str, Any],
                     specs: dict[str, Any], packages: dict[str, Any]) -> dict[str, Any] | None:
    """The closure with its signatures when all it read is unchanged; else None. `specs`, `packages`: asked so far."""
    deps = Dependencies({path: signatures.files[path] for path in closure["files"]},
                        {path: signatures.entries[path] for path in closure["entries"]})
    if not deps.unchanged():
        return None
    for top, found in closure["specs"].items():
        if top not in specs:
            specs[top] = spec_signature(top)
        if specs[top] != (found if found is None else list(found)):
            return None
    for top in closure["external"]:
        if top not in packages:
            packages[top] = distributions_of(top)
        if packages[top] != remembered_packages[top]:
            return None
    return {"deps": deps, "specs": closure["specs"], "external": closure["external"]}


def remember(request: dict[str, Any], inputs: dict[str, Any], plan: Any,
             closures: Collected, recalled: Recalled | None = None) -> None:
    """Write down a plan that reused every step, with what decided its fingerprints (only when all of it is settled).

    `closures` are those derived or looked up while planning (`collecting_closures`); `recalled`, what the
    previous memo vouched for, carries the closures of the steps whose fingerprints it gave.
    """
    from durapipe.engine.fingerprints import code_location, step_code

    if any(deps is None for _, deps in closures.values()):
        return  # a file read was written just now: its signature cannot vouch for it yet
    files: dict[str, Any] = {}
    entries: dict[str, Any] = {}
    numbers: dict[Any, int] = {}
    kept: list[dict[str, Any]] = []
    external: set[str] = set()
    steps = []
    for step, planned in zip(request["spec"]["steps"], plan.steps):
        _, code, project_root = step_code(step["ref"], request["code_root"])
        location = code_location(code)
        if location is None or planned.reused is None:
            return
        # The closure identification used (found by how it was asked for), else the one the memo vouched for.
        key: Any = closures.asked.get((str(location[0]), location[1], str(project_root), location[2]))
        if key is not None:
            value, deps = closures[key]
            closure = {"deps": deps, "specs": value.get("specs") or {}, "external": value.get("external") or []}
        elif recalled is not None and planned.name in recalled.closures:
            closure = recalled.closures[planned.name]
            key = id(closure)  # one per closure of the old memo
        else:
            return  # nothing vouches for what this step's code read
        if key not in numbers:
            files.update(closure["deps"].files)
            entries.update(closure["deps"].entries)
            external.update(closure["external"])
            numbers[key] = len(kept)
            kept.append({"files": sorted(closure["deps"].files), "entries": sorted(closure["deps"].entries),
                         "specs": closure["specs"], "external": sorted(closure["external"])})
        steps.append([planned.name, planned.fingerprint, list(location), str(project_root), numbers[key],
                      output_hashes(planned.reused["outputs"])])
    key = memo_key(request, inputs)
    memo = {"steps": steps, "closures": kept, "files": {path: signature and signature.to_json()
                                                        for path, signature in files.items()},
            "entries": entries, "packages": {top: distributions_of(top) for top in sorted(external)}}
    # A project folder that cannot be written (a read-only app on Azure) only costs speed.
    memos_of(request).write(key, memo)
