"""What the function app serves: registered pipelines, run requests built from untrusted
input (HTTP bodies, arriving blobs, timer ticks), and the views of runs it returns.

Nothing here trusts a caller: pipelines are looked up in the app's own registry (never
imported by a name from a request), inputs are store keys or artifacts (never local
paths), and every problem is a `RequestError` carrying the HTTP status to answer with.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.model.contracts import WAITING, step_state
from durapipe.model.statuses import RuntimeStatus, failure_reason
from durapipe.core.errors import DurapipeError, NotFoundError, shown
from durapipe.core.names import check_blob_name, check_id
from durapipe.store.records import list_runs, read_run_record, write_run_record
from durapipe.engine.request import CodePolicy, build_run_request, orchestration_input

if TYPE_CHECKING:
    from durapipe.store.base import Store

MAX_BODY_BYTES = 64 * 1024
SERVED_MAX_PARALLEL = 4


class RequestError(DurapipeError):
    """A request the service refuses; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ServedPipeline:
    """A pipeline the app serves, with the folder its code imports from and the model its runs register."""

    pipeline: Any
    code_root: Path
    register: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The pipeline's name (its spec name)."""
        return self.pipeline.name

    def spec_json(self) -> dict[str, Any]:
        """The pipeline's validated spec, with its version (the hash of the spec)."""
        return self.pipeline.spec.to_json()

    def describe(self) -> dict[str, Any]:
        """Name, version, parameters (name, type, default) and inputs, as the API lists them."""
        spec = self.spec_json()
        return {
            "name": spec["name"], "version": spec["version"],
            "parameters": [{"name": n, "type": p["type"], **({"default": p["default"]} if "default" in p else {}),
                            "required": "default" not in p} for n, p in spec["params"].items()],
            "inputs": [{"name": n, "optional": bool(i.get("optional"))} for n, i in spec["inputs"].items()],
            "registers_model": (self.register or {}).get("model"),
        }


class Catalog:
    """The pipelines an app serves, by name, from one project's Definitions."""

    def __init__(self, served: list[ServedPipeline], definitions: Any = None,
                 source: tuple[Path, str] | None = None) -> None:
        self._served = {s.name: s for s in served}
        self.definitions = definitions
        # The folders run requests and step tasks the local CLI did not sign may import steps from: the app
        # hands it to planning and to the step activities, which check every request and task against it.
        self.code_policy = CodePolicy.serving(s.code_root for s in served)
        # Where the definitions came from (project root, module:attr), to load them again when the code changes.
        self._source = source
        self._modules: dict[str, Any] = {}
        self._lock = threading.Lock()
        if source is not None:
            from durapipe.core.paths import project_modules

            self._modules = project_modules(source[0])

    def refresh(self) -> "Catalog":
        """Serve the code on disk: when a module of the project changed since it was loaded, load the definitions again.

        Triggers keep their declarations; the pipelines they start are looked up again by name.
        A project whose changed code no longer loads raises a DefinitionError, and the loaded code stays.
        """
        from durapipe.core.paths import modules_changed, project_modules
        from durapipe.load.project import load_definitions

        if self._source is None:
            return self
        with self._lock:
            if not modules_changed(self._modules):
                return self
            root, ref = self._source
            saved = {name: sys.modules.pop(name) for name in self._modules if name in sys.modules}
            try:
                fresh = Catalog.from_definitions(load_definitions(root, ref))
            except BaseException:
                sys.modules.update(saved)
                raise
            self._served, self.definitions, self.code_policy = fresh._served, fresh.definitions, fresh.code_policy
            self._modules = project_modules(root)
        return self

    @classmethod
    def from_definitions(cls, definitions: Any) -> "Catalog":
        """Serve every pipeline of `definitions`, each registering the model declared for it."""
        from durapipe.load.targets import code_root_of

        served = []
        for name, pipeline in sorted(definitions.pipelines.items()):
            model = definitions.model_of(name)
            served.append(ServedPipeline(pipeline, code_root_of(pipeline), model.policy() if model else None))
        return cls(served, definitions)

    @property
    def version(self) -> str | None:
        """The definitions version every run started here records."""
        return self.definitions.version if self.definitions is not None else None

    def names(self) -> list[str]:
        """The served pipeline names, sorted."""
        return sorted(self._served)

    def get(self, name: str) -> ServedPipeline:
        """The served pipeline `name`; a RequestError (400) naming the ones that exist otherwise."""
        try:
            return self._served[name]
        except KeyError:
            raise RequestError(400, f"There is no pipeline named {name!r}; this app serves: "
                                    f"{', '.join(self.names()) or 'no pipelines'}.") from None


def parse_json_body(body: bytes, cap: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """A request body as a JSON object, refusing oversize (413) or malformed (400) bodies."""
    if len(body) > cap:
        raise RequestError(413, f"The request body is {len(body)} bytes; the limit is {cap} bytes.")
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise RequestError(400, "The request body is JSON nested too deeply.") from None
    if not isinstance(data, dict):
        raise RequestError(400, "The request body must be a JSON object with 'parameters' and 'inputs'.")
    return data


def run_request_from_body(catalog: Catalog, served: ServedPipeline, body: dict[str, Any], store: Store, run_id: str,
                          trigger: dict[str, Any]) -> dict[str, Any]:
    """The orchestrator input for an HTTP run request; validates before anything is written."""
    unknown = sorted(set(body) - {"parameters", "inputs"})
    if unknown:
        raise RequestError(400, f"The request has an unknown field {shown(unknown[0])}; use 'parameters' and 'inputs'.")
    params = body.get("parameters") or {}
    inputs = body.get("inputs") or {}
    if not isinstance(params, dict) or not isinstance(inputs, dict):
        raise RequestError(400, "'parameters' and 'inputs' must be JSON objects.")
    references = {name: _input_reference(name, value) for name, value in inputs.items()}
    sources, notes = _resolve(store, references)
    return served_run_request(catalog, served, params, sources, run_id=run_id,
                              trigger={**trigger, **({"inputs": notes} if notes else {})})


def served_run_request(catalog: Catalog, served: ServedPipeline, params: dict[str, Any], sources: dict[str, Any], *,
                       run_id: str, trigger: dict[str, Any], deliver: dict[str, str] | None = None,
                       max_parallel: int | None = None, publish: dict[str, str] | None = None) -> dict[str, Any]:
    """The orchestrator input for a served pipeline; raises RequestError (400) for bad parameters or inputs."""
    from durapipe.model.spec import resolve_params

    spec = served.pipeline.spec
    try:
        request = build_run_request(
            spec.to_json(), resolve_params(spec, params), sources, run_id=run_id,
            code_root=str(served.code_root), trigger=trigger, max_parallel=max_parallel or SERVED_MAX_PARALLEL,
            register=served.register, deliver=deliver, publish=publish)
    except DurapipeError as exc:
        raise RequestError(400, str(exc)) from None
    request["definitions_version"] = catalog.version
    return orchestration_input(request)


def _input_reference(name: str, value: Any) -> str:
    """An input given over HTTP: a blob name or reference (text or {"key": ...}); never a local path."""
    from durapipe.model.references import check_reference

    key = value.get("key") if isinstance(value, dict) else value
    if not isinstance(key, str):
        raise RequestError(400, f"Input {shown(name)} must be a blob name in the store, such as \"incoming/data.csv\", "
                                "or a reference such as \"model:NAME:champion\".")
    try:
        return check_reference(key, f"input {name!r}")
    except DurapipeError as exc:
        raise RequestError(400, str(exc)) from None


def _resolve(store: Store, references: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from durapipe.catalog.references import resolve_inputs

    try:
        return resolve_inputs(store, references)
    except DurapipeError as exc:
        raise RequestError(400, str(exc)) from None


@functools.lru_cache(maxsize=1)
def app_store() -> Store:
    """The app's store (DURAPIPE_STORE), opened once per process."""
    from durapipe.store.url import open_store

    return open_store()


class BlobVersionGone(DurapipeError):
    """The blob no longer holds the version an arrival names (overwritten or deleted since): that arrival starts nothing."""


def blob_instance_id(container: str, name: str, etag: str) -> str:
    """The run id of a blob arrival: the same blob version (container, name, ETag) always maps to it."""
    digest = hashlib.sha256(f"{container}\n{name}\n{etag}".encode()).hexdigest()[:24]
    return f"blob-{digest}"


IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")


def idempotent_run_id(pipeline: str, key: Any) -> str:
    """The run id of an HTTP start that carries an Idempotency-Key: the same pipeline and key give the same run."""
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise RequestError(400, f"The {IDEMPOTENCY_HEADER} header must be 1 to 255 printable ASCII characters.")
    digest = hashlib.sha256(f"{pipeline}\n{key}".encode()).hexdigest()[:24]
    return f"{check_id(pipeline, 'pipeline name')}-key-{digest}"


def tick_instance_id(pipeline: str, tick: datetime) -> str:
    """The run id of a timer tick: one tick, one run."""
    return f"{pipeline}-tick-{tick.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"


def run_view(run_id: str, status: dict[str, Any] | None, record: dict[str, Any] | None) -> dict[str, Any]:
    """One run as the API shows it: status, per-step progress, outputs and error."""
    from durapipe.engine.record_run import run_summary

    if status is None and record is None:
        raise RequestError(404, f"There is no run {run_id!r}.")
    view: dict[str, Any] = {"run_id": run_id}
    if record is not None and record.get("status") != "running":
        view.update(run_summary(record))
    else:
        progress = ((status or {}).get("customStatus") or {}).get("steps", {})
        runtime = (status or {}).get("runtimeStatus")
        view.update({
            "pipeline": (record or {}).get("pipeline"), "status": _RUNTIME_TO_STATUS.get(runtime, "running"),
            "started": (record or {}).get("started"), "finished": None, "outputs": {},
            "error": failure_sentence((status or {}).get("output")) if runtime == RuntimeStatus.Failed else None,
            "steps": {name: {"status": step_state(info.get("state", WAITING)), "started": info.get("started"),
                             "finished": info.get("finished")} for name, info in progress.items()},
        })
    if record is not None:
        # What the run page shows beside the steps: what it ran on and when each step ran.
        view.update({k: record.get(k) for k in ("pipeline_version", "trigger", "inputs", "params", "metrics")
                     if record.get(k) is not None})
        for name, step in view.get("steps", {}).items():
            recorded = (record.get("steps") or {}).get(name) or {}
            for key in ("started", "finished"):
                if step.get(key) is None and recorded.get(key) is not None:
                    step[key] = recorded[key]
            # A map of thousands of files would make this view (polled every second) megabytes: it carries the
            # counts, and GET /api/runs/{id}/steps/{step}/partitions pages the partitions.
            step.pop("by_partition", None)
    if status is not None:
        view["runtime_status"] = status.get("runtimeStatus")
    return view


def failure_sentence(output: Any) -> str:
    """A failed orchestration's output as one sentence for a client: durapipe's own reason, never a traceback.

    The output is "Orchestrator function 'x' failed: <reason> \n <traceback>"; the reason is shown only
    when the traceback ends in one of durapipe's errors (whose messages are sentences for users).
    """
    text = output if isinstance(output, str) else ""
    reason, _, details = text.partition(" \n ")
    reason = failure_reason(reason.strip())
    lines = details.strip().splitlines()
    # durapipe.errors: where the errors lived before the library became packages (a journal kept across the upgrade).
    ours = bool(lines) and lines[-1].startswith(("durapipe.core.errors.", "durapipe.errors."))
    if not ours or not reason or "\n" in reason or len(reason) > 1000:
        return "The run failed before its steps could run; the server log has the details."
    return reason if reason.endswith((".", "!", "?")) else reason + "."


# Any other runtime status (Suspended) reads as running.
_RUNTIME_TO_STATUS = {RuntimeStatus.Pending: "pending", RuntimeStatus.Running: "running",
                      RuntimeStatus.Completed: "completed", RuntimeStatus.Failed: "failed",
                      RuntimeStatus.Terminated: "canceled", RuntimeStatus.Canceled: "canceled",
                      RuntimeStatus.ContinuedAsNew: "running"}


def read_run(store: Store, run_id: str) -> dict[str, Any] | None:
    """The run record of `run_id`, or None when it has not been written yet."""
    try:
        return read_run_record(store, check_id(run_id))
    except NotFoundError:
        return None


def page_of_runs(store: Store, pipeline: str | None, status: str | None, limit: int, offset: int) -> dict[str, Any]:
    """A page of run summaries, newest first, with the offset of the next page (or None)."""
    if not 1 <= limit <= 200 or offset < 0:
        raise RequestError(400, "'limit' must be from 1 to 200 and 'offset' must not be negative.")
    runs = list_runs(store, pipeline, status)
    page = runs[offset:offset + limit]
    return {
        "runs": [{"run_id": r["run_id"], "pipeline": r.get("pipeline"), "status": r.get("status"),
                  "started": r.get("started"), "finished": r.get("finished")} for r in page],
        "next_offset": offset + limit if offset + limit < len(runs) else None,
        "total": len(runs),
    }


def models_view(store: Store) -> list[dict[str, Any]]:
    """Every registered model with its version count and champion, as the API lists them."""
    from durapipe.catalog.registry import list_models

    return list_models(store)


def model_view(store: Store, name: str) -> dict[str, Any]:
    """One model's versions and champion; RequestError 400 for a bad name, 404 for an unknown model."""
    from durapipe.core.names import check_name
    from durapipe.catalog.registry import describe_model

    try:
        check_name(name, "model name")
    except DurapipeError as exc:
        raise RequestError(400, str(exc)) from None
    try:
        return describe_model(store, name)
    except NotFoundError as exc:
        raise RequestError(404, str(exc)) from None


def mark_canceled(store: Store, run_id: str, reason: str, pipeline: str | None = None,
                  progress: dict[str, Any] | None = None) -> None:
    """Record a terminated run as canceled (the orchestrator cannot record it once terminated), with its
    steps as its last custom status `progress` had them: reused or ran stay so, the rest did not run."""
    record = read_run(store, run_id)
    now = datetime.now(timezone.utc).isoformat()
    if record is None:
        # Canceled before planning wrote the record: planning creates it only if absent, so this stays.
        record = {"schema": 1, "run_id": run_id, "pipeline": pipeline, "started": now, "steps": {}, "outputs": {}}
    elif record.get("status") != "running":
        return
    record.update(status="canceled", finished=now, error=reason,
                  steps=_canceled_steps(record, progress or {}))
    write_run_record(store, record)


def _canceled_steps(record: dict[str, Any], progress: dict[str, Any]) -> dict[str, Any]:
    """The steps of a run canceled at `progress` (its custom status's steps), in spec order."""
    from durapipe.engine.record_run import STEP_STATUS
    from durapipe.store.records import PLANNED

    planned = (record.get(PLANNED) or {}).get("reused") or {}
    names = [s["name"] for s in (record.get("spec") or {}).get("steps", [])]
    steps: dict[str, Any] = {}
    for name in names + [n for n in progress if n not in names]:
        info = progress.get(name) or {}
        status = STEP_STATUS.get(step_state(info.get("state", WAITING)), "not_run")
        reused = planned.get(name) or {}
        if name in planned and status == "not_run":
            status = "reused"  # reused at planning: the status board may not have been written yet
        steps[name] = {"status": status, "fingerprint": reused.get("fingerprint"),
                       "duration_s": 0.0, "outputs": reused.get("outputs") or {}, "error": None,
                       "started": info.get("started"), "finished": info.get("finished")}
    return {**steps, **{n: s for n, s in (record.get("steps") or {}).items() if n not in steps}}


def schedule_request(catalog: Catalog, schedule: Any, store: Store, run_id: str, tick: datetime) -> dict[str, Any]:
    """The run a schedule's tick starts, with the schedule's parameters and resolved input references."""
    served = catalog.refresh().get(schedule.pipeline.name)
    sources, notes = _resolve(store, schedule.inputs)
    trigger = {"kind": "timer", "schedule": schedule.name, "tick": tick.isoformat(), "inputs": notes}
    return served_run_request(catalog, served, schedule.params, sources, run_id=run_id, trigger=trigger,
                              publish=schedule.publish)


def blob_name_of(trigger: Any, key: str) -> str:
    """The `{name}` part of an arrived blob's key under the trigger's path."""
    suffix = trigger.path[trigger.path.index("{name}") + len("{name}"):]
    name = key[len(trigger.prefix):]
    return name[:len(name) - len(suffix)] if suffix and name.endswith(suffix) else name


def arrival_request(catalog: Catalog, trigger: Any, store: Store, key: str, etag: str,
                    arrival_id: str) -> dict[str, Any]:
    """What a blob arrival starts: the run of the trigger's pipeline with the blob's version `etag` bound to its input.

    The bytes of that version are read now and bound as an artifact, so the run reads what its id
    names however the blob changes later; a blob that no longer holds that version raises
    BlobVersionGone (the arrival starts nothing: its newer version arrives on its own). The
    orchestrator `blob_arrival` tries the run up to `tries` times, then records the blob as poison.
    """
    from durapipe.store.keys import check_delivery_key

    check_blob_name(key, "arrived blob name")
    name = blob_name_of(trigger, key)
    served = catalog.refresh().get(trigger.pipeline.name)
    sources, notes = _resolve(store, trigger.inputs)
    deliver = {output: check_delivery_key(template.replace("{name}", name))
               for output, template in trigger.deliver.items()}
    artifact = arrived_version(store, key, etag)
    sources[trigger.input] = {"artifact": artifact}
    notes[trigger.input] = {"key": key, "etag": etag, "hash": artifact["hash"]}
    if getattr(trigger, "register_data", None):
        from durapipe.catalog.data_assets import register_artifact

        # Registration is idempotent (one version per content), so a redelivered blob adds nothing.
        entry = register_artifact(store, trigger.register_data, artifact, {"kind": "blob", "key": key, "etag": etag})
        notes[trigger.input] = {"reference": f"data:{entry['name']}:{entry['version']}", "data": entry["name"],
                                "version": entry["version"], "hash": entry["hash"], "key": key}
    run_trigger = {"kind": "blob", "blob_trigger": trigger.name, "key": key, "etag": etag, "inputs": notes}
    request = served_run_request(catalog, served, trigger.params, sources, run_id=f"{arrival_id}-1",
                                 trigger=run_trigger, deliver=deliver, publish=trigger.publish)
    return {"schema": 1, "arrival_id": arrival_id, "key": key, "etag": etag, "blob_trigger": trigger.name,
            "tries": trigger.tries, "retry_interval": trigger.retry_interval, "request": request}


def arrived_version(store: Store, key: str, etag: str) -> dict[str, Any]:
    """The artifact of the version `etag` of blob `key` (uploaded content-addressed); BlobVersionGone when it holds another."""
    import shutil

    from durapipe.core.scratch import new_scratch_dir
    from durapipe.store.artifacts import put_artifact

    scratch = new_scratch_dir("durapipe-arrival-")
    try:
        local = scratch / key.rsplit("/", 1)[-1]
        if not store.download_version(key, etag, local):
            raise BlobVersionGone(f"The blob {key!r} no longer holds the version (ETag {etag}) that arrived, so that "
                                  "version starts nothing; a newer version starts its own run.")
        return put_artifact(store, local)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unprepared_arrival(trigger: Any, key: str, etag: str, arrival_id: str, error: str) -> dict[str, Any]:
    """A blob arrival whose run request could not be built (`error`): `blob_arrival` builds it again at later tries."""
    return {"schema": 1, "arrival_id": arrival_id, "key": key, "etag": etag, "blob_trigger": trigger.name,
            "tries": trigger.tries, "retry_interval": trigger.retry_interval, "request": None, "error": error}

def served_catalog(entry_dir: Path, env: Any = None) -> Catalog:
    """The catalog of the project the app serves: DURAPIPE_PROJECT_ROOT (else `entry_dir`) and its definitions.

    With no definitions configured the app serves no pipelines (it still runs `durapipe run`'s). Its
    `code_policy` allows steps only from the served pipelines' folders, unless the local CLI signed the run.
    """
    import os

    from durapipe.dsl.definitions import Definitions
    from durapipe.core.paths import PROJECT_ROOT_ENV, definitions_ref
    from durapipe.load.project import load_definitions

    env = os.environ if env is None else env
    root = Path(env.get(PROJECT_ROOT_ENV) or entry_dir)
    ref = definitions_ref(root, env=env)
    if ref is None:
        return Catalog([], Definitions())
    catalog = Catalog.from_definitions(load_definitions(root, ref))
    return Catalog(list(catalog._served.values()), catalog.definitions, source=(root, ref))
