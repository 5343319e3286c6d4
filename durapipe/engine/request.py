"""The orchestrator's input for one run, built and checked the same way by every trigger
(the CLI, HTTP, blob arrival and the timer), and checked again by planning, since anything
holding the durable endpoints' key can start the orchestrator with any input."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from durapipe.core.canonical import canonical_json
from durapipe.model.contracts import SCHEMA_VERSION
from durapipe.core.errors import DurapipeError, UsageError, shown
from durapipe.core.names import check_blob_name, check_id, check_name

TRIGGER_KINDS = frozenset({"cli", "python", "http", "blob", "timer"})  # python: durapipe.run
LOCAL_TRIGGER_KINDS = frozenset({"cli", "python"})  # runs a local session signs; they may name host paths
# Set only in the processes of a local CLI session (`durapipe run`, `durapipe resume`): the key that
# signs its run requests, so a request carrying host paths is planned only when that CLI made it.
LOCAL_RUN_KEY_ENV = "DURAPIPE_LOCAL_RUN_KEY"
MARK_FIELD = "local_mark"
MAX_PARALLEL_LIMIT = 1024


@dataclass(frozen=True)
class CodePolicy:
    """The folders steps may be imported from for a run request or step task the local CLI did not sign.

    `served` holds the resolved folders of the pipelines an app serves; None allows any folder (a process
    that serves no app: the library called directly, `durapipe plan`). A served app's catalog makes its own
    (`Catalog.code_policy`) and hands it to every check, so nothing about it lives in this module.
    """

    served: frozenset[str] | None = None

    @classmethod
    def serving(cls, roots: Iterable[str | os.PathLike[str]]) -> "CodePolicy":
        """Only the folders `roots` (resolved now), as an app serving pipelines from them allows."""
        return cls(frozenset(_resolved(str(root)) for root in roots))

    def allows(self, code_root: str) -> bool:
        """Whether steps of an unsigned request may be imported from `code_root`."""
        return self.served is None or _resolved(code_root) in self.served


ANY_FOLDER = CodePolicy()  # the library called directly, where no app is served


def check_code_root(code_root: object, signed: bool = False, *, code: CodePolicy = ANY_FOLDER) -> None:
    """Raise UsageError unless steps may be imported from `code_root` under `code`.

    A request signed by the local CLI (`signed`) may name any folder; any other may name only a
    folder `code` allows (a served app's: its pipelines' folders), or none, so the durable endpoints'
    key cannot point a run at another folder of code.
    """
    if code_root is None:
        return
    if not isinstance(code_root, str) or not code_root:
        raise UsageError("The run request's 'code_root' must be a folder name.")
    if signed or code.allows(code_root):
        return
    raise UsageError(f"The run request's code root {code_root!r} is not the folder of a pipeline this app "
                     "serves; only `durapipe run` on this host may run steps from another folder.")


def check_task_code_root(code_root: object, *, code: CodePolicy = ANY_FOLDER) -> None:
    """`check_code_root` for a step task: any folder in a local CLI session's processes (they hold its key, and
    only that CLI starts runs there, each planned from a signed request), else only a folder `code` allows."""
    check_code_root(code_root, signed=bool(os.environ.get(LOCAL_RUN_KEY_ENV)), code=code)


def _resolved(folder: str) -> str:
    from durapipe.load.targets import resolved_folder

    return resolved_folder(folder)


def new_run_id(pipeline: str) -> str:
    """A fresh, sortable run id such as `retrain-20261129-101500-3fa2c1`."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{check_name(pipeline, 'pipeline name')}-{stamp}-{secrets.token_hex(3)}"


def check_inputs(spec: dict[str, Any], given: Iterable[str], how: str = "") -> None:
    """Raise naming the first input `spec` does not have, or the first required input not given."""
    given = set(given)
    unknown = sorted(given - set(spec["inputs"]))
    if unknown:
        raise UsageError(f"Pipeline {spec['name']} has no input named {shown(unknown[0])}; "
                         f"its inputs are: {', '.join(spec['inputs']) or 'none'}.")
    missing = [n for n, i in spec["inputs"].items() if not i.get("optional") and n not in given]
    if missing:
        hint = how.format(name=missing[0]) if how else ""
        raise UsageError(f"Pipeline {spec['name']} needs the input {missing[0]!r}{hint}.")


def build_run_request(spec: dict[str, Any], params: dict[str, Any], inputs: dict[str, Any], *, run_id: str,
                      code_root: str | None, trigger: dict[str, Any], force: list[str] | None = None,
                      max_parallel: int | None = None, register: dict[str, Any] | None = None,
                      deliver: dict[str, str] | None = None, input_hint: str = "",
                      publish: dict[str, str] | None = None) -> dict[str, Any]:
    """The orchestrator's input for one run of `spec` with resolved `params` and input sources.

    `publish` maps outputs to data asset names: each is registered as a data version when the run completes.
    """
    from durapipe.core.git_state import git_state

    force = list(force or [])
    publish = dict(publish or {})
    for output, asset in publish.items():
        if output not in spec.get("outputs", {}):
            raise UsageError(f"--publish names output {output!r}, which pipeline {spec['name']} does not have; "
                             f"its outputs are: {', '.join(spec.get('outputs', {})) or 'none'}.")
        check_name(asset, "data asset name")
    unknown = [f for f in force if f != "all" and f not in {s["name"] for s in spec["steps"]}]
    if unknown:
        raise UsageError(f"--force names step {unknown[0]!r}, which pipeline {spec['name']} does not have.")
    check_inputs(spec, inputs, input_hint)
    return {
        "schema": SCHEMA_VERSION, "run_id": check_id(run_id), "spec": spec, "params": params, "inputs": inputs,
        "code_root": code_root, "force": force, "max_parallel": max_parallel or os.cpu_count() or 1,
        "trigger": trigger, "started": datetime.now(timezone.utc).isoformat(), "register": register,
        "deliver": deliver or {}, "publish": publish, "git": git_state(code_root),
    }


def local_mark(key: str, request: dict[str, Any]) -> str:
    """The signature binding a local CLI run request's id and input sources to this host's local run key."""
    signed = canonical_json({"run_id": request.get("run_id"), "inputs": request.get("inputs") or {},
                             "trigger": request.get("trigger"), "code_root": request.get("code_root")})
    return hmac.new(key.encode(), signed.encode(), hashlib.sha256).hexdigest()


def mark_local_request(request: dict[str, Any], key: str) -> dict[str, Any]:
    """`request` signed as made by the local CLI (only the CLI holds `key`), so planning accepts its paths."""
    return {**request, MARK_FIELD: local_mark(key, request)}


def check_run_request(request: Any, local_key: str | None = None, *, code: CodePolicy = ANY_FOLDER) -> dict[str, Any]:
    """Return `request`, its spec as JSON, when it is a valid run request, else raise UsageError with one sentence.

    The spec may be given as JSON or as its text (`orchestration_input`).

    Inputs are store keys, artifact references or (registry resolved) artifacts; a host path, or a
    code root `code` does not allow (a served app's: other than its pipelines' folders), is accepted
    only from a CLI run whose request carries the mark of `local_key`. Deliveries go to
    keys outside durapipe's own prefixes; the model to register is a valid name.
    """
    from durapipe.model.spec import checked_spec_json
    from durapipe.store.artifacts import check_ref
    from durapipe.store.keys import check_delivery_key

    if not isinstance(request, dict):
        raise UsageError("The run request must be a JSON object.")
    if request.get("schema") != SCHEMA_VERSION:
        raise UsageError(f"The run request has schema {request.get('schema')!r}; this durapipe reads schema "
                         f"{SCHEMA_VERSION}.")
    try:
        check_id(request.get("run_id"))
        spec_json = checked_spec_json(request.get("spec"))
        trigger = request.get("trigger")
        if not isinstance(trigger, dict) or trigger.get("kind") not in TRIGGER_KINDS:
            raise UsageError(f"The run request's trigger must be one of {', '.join(sorted(TRIGGER_KINDS))}.")
        if not isinstance(request.get("params"), dict):
            raise UsageError("The run request's 'params' must be a JSON object.")
        inputs = request.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise UsageError("The run request's 'inputs' must be a JSON object.")
        signed = _signed_locally(request, local_key)
        for name, source in inputs.items():
            _check_source(name, source, signed, check_ref)
        deliver = request.get("deliver") or {}
        if not isinstance(deliver, dict):
            raise UsageError("The run request's 'deliver' must map outputs to store keys.")
        for output, key in deliver.items():
            if output not in spec_json.get("outputs", {}):
                raise UsageError(f"The run request delivers {output!r}, which pipeline {spec_json['name']} does "
                                 "not output.")
            check_delivery_key(key)
        register = request.get("register")
        if register is not None:
            if not isinstance(register, dict):
                raise UsageError("The run request's 'register' must name a model.")
            check_name(register.get("model"), "model name")
        force = request.get("force") or []
        if not isinstance(force, list) or not all(isinstance(f, str) for f in force):
            raise UsageError("The run request's 'force' must be a list of step names.")
        limit = request.get("max_parallel")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or not 1 <= limit <= MAX_PARALLEL_LIMIT):
            raise UsageError(f"The run request's 'max_parallel' must be a whole number from 1 to {MAX_PARALLEL_LIMIT}.")
        check_code_root(request.get("code_root"), signed, code=code)
    except UsageError:
        raise
    except DurapipeError as exc:
        raise UsageError(str(exc)) from None
    return {**request, "spec": spec_json}


def orchestration_input(request: dict[str, Any]) -> dict[str, Any]:
    """`request` as the pipeline orchestrator is started with: its spec as text, taken as valid in this process.

    The orchestrator never reads the spec (planning hands it the steps to run), and the SDK decodes
    its input on every episode: as one string, about 340 bytes a step cost a copy, not a parse with
    a hook per object. Only for requests built here (`build_run_request`), from a spec built or read here.
    """
    from durapipe.model.spec import spec_text, trust_spec_text

    spec = request["spec"]
    if isinstance(spec, str):
        return request
    text = spec_text(spec)
    trust_spec_text(text)
    return {**request, "spec": text, "pipeline": spec["name"]}


def _signed_locally(request: dict[str, Any], local_key: str | None) -> bool:
    """Whether `request` carries the mark of `local_key` for a run of a local trigger (the CLI or durapipe.run)."""
    mark = request.get(MARK_FIELD)
    trigger = request.get("trigger") or {}
    return bool(local_key and isinstance(mark, str) and trigger.get("kind") in LOCAL_TRIGGER_KINDS
                and hmac.compare_digest(mark, local_mark(local_key, request)))


def _check_prefix_source(name: str, folder: Any) -> None:
    """A `prefix:` input as resolved: its prefix and {name under it: ETag} of each blob (`catalog.references`)."""
    blobs = folder.get("blobs") if isinstance(folder, dict) else None
    prefix = folder.get("prefix") if isinstance(folder, dict) else None
    if not isinstance(prefix, str) or not prefix.endswith("/") or not isinstance(blobs, dict) or not blobs \
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in blobs.items()):
        raise UsageError(f"The input {name!r} must name its prefix and the ETag of each blob under it.")
    for key in blobs:
        check_blob_name(prefix + key, f"blob name of input {name!r}")


def _check_source(name: str, source: Any, signed: bool, check_ref: Any) -> None:
    check_name(name, "input name")
    if source is None:
        return  # an optional input not given
    if not isinstance(source, dict) or len(source) != 1:
        raise UsageError(f"The input {name!r} must be given as one of a store key, an artifact or a path.")
    if "key" in source:
        check_blob_name(source["key"], f"blob name of input {name!r}")
    elif "artifact" in source:
        check_ref(source["artifact"])
    elif "prefix" in source:
        _check_prefix_source(name, source["prefix"])
    elif "path" in source:
        if not signed:
            raise UsageError(f"The input {name!r} names a path on the host, which only a run started by "
                             "`durapipe run` on this host may do; give a store key or an artifact.")
        if not isinstance(source["path"], str):
            raise UsageError(f"The input {name!r} must name its path as text.")
    else:
        raise UsageError(f"The input {name!r} must be given as one of a store key, an artifact or a path.")
