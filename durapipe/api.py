"""The Python API: run a pipeline on the local host and read its steps and outputs.

    run = durapipe.run("pipeline.py:churn", params={"C": 0.5}, inputs={"raw": "data:raw:1"})
    run.outputs["model"].path()      # materialised locally, verified

Works from a script, `python -c`, standard input and a Jupyter kernel: the run happens on the
embedded local host, exactly as `durapipe run` does it.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from durapipe.core.errors import DurapipeError, UsageError
from durapipe.model.statuses import TERMINAL

if TYPE_CHECKING:  # the store package is imported by the calls that open one, not by `import durapipe`
    from durapipe.store.base import Store


def _open(store: Store | str | None) -> Store:
    from durapipe.store.base import Store
    from durapipe.store.url import open_store

    return store if isinstance(store, Store) else open_store(store)


@dataclass(frozen=True)
class RunOutput:
    """One output of a run: a content-addressed artifact in the run's store."""

    name: str
    ref: dict[str, Any]
    store: Store = field(repr=False)

    @property
    def hash(self) -> str:
        """The artifact's sha256 (of the bytes, or of a folder's manifest)."""
        return self.ref["hash"]

    @property
    def kind(self) -> str:
        """`file` or `dir`."""
        return self.ref["kind"]

    @property
    def size(self) -> int:
        """Bytes (of all its files, for a folder)."""
        return self.ref["size"]

    def path(self) -> Path:
        """A local copy of the output (verified when it is written), cached by hash in the project's .durapipe/."""
        from durapipe.core.paths import state_dir

        target = state_dir() / "outputs" / self.hash / self.name
        if not target.exists():
            from durapipe.store.artifacts import get_artifact

            get_artifact(self.store, self.ref, target)
        return target

    def read_bytes(self) -> bytes:
        """The verified bytes of a file output."""
        from durapipe.store.artifacts import read_artifact_bytes

        return read_artifact_bytes(self.store, self.ref)

    def download(self, dest: str | Path) -> Path:
        """Write the output into folder `dest` as `dest/<name>`, verified; return that path."""
        from durapipe.store.artifacts import get_artifact

        target = Path(dest) / self.name
        if target.exists():
            raise UsageError(f"Cannot download output {self.name} to {str(target)!r}: it already exists.")
        get_artifact(self.store, self.ref, target)
        return target


@dataclass(frozen=True)
class RunStep:
    """What one step did in a run (one of `Run.steps`)."""

    name: str
    status: str
    fingerprint: str | None
    duration_s: float
    metrics: dict[str, Any]
    params: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    error: str | None


class Run:
    """A recorded run: `id`, `status`, `steps` (name to RunStep), `outputs` (name to RunOutput)."""

    def __init__(self, record: dict[str, Any], store: Store) -> None:
        self.record = record
        self.store = store
        self.id: str = record["run_id"]
        self.pipeline: str = record.get("pipeline") or ""
        self.status: str = record.get("status") or "unknown"
        self.error: str | None = record.get("error")
        self.params: dict[str, Any] = dict(record.get("params") or {})
        self.metrics: dict[str, Any] = dict(record.get("metrics") or {})
        self.steps: dict[str, RunStep] = {
            name: RunStep(name, s.get("status") or "", s.get("fingerprint"), float(s.get("duration_s") or 0.0),
                          dict(s.get("metrics") or {}), dict(s.get("logged_params") or {}),
                          dict(s.get("outputs") or {}), s.get("error"))
            for name, s in (record.get("steps") or {}).items()}
        self.outputs: dict[str, RunOutput] = {name: RunOutput(name, ref, store)
                                              for name, ref in (record.get("outputs") or {}).items()}

    def __repr__(self) -> str:
        return f"<durapipe Run {self.id} {self.status}: {len(self.steps)} steps, outputs {', '.join(self.outputs)}>"


def run(pipeline_or_target: Any, params: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
        store: Store | str | None = None, force: list[str] | None = None, max_parallel: int | None = None,
        register_model: str | None = None, publish: dict[str, str] | None = None, progress: bool = True) -> Run:
    """Run a pipeline (a @pipeline, or "file.py:name" / "module:name") on the local host; return its Run.

    `inputs` are local paths or references (`data:NAME[:V]`, `model:NAME:champion`); a failed run
    is returned with status "failed" (its `error` says why), never raised.
    """
    from durapipe.host.sdk_compat import defer_host_imports

    defer_host_imports()  # this process hosts the app: before anything imports the SDK (see sdk_compat)
    from durapipe.engine.pipeline_request import pipeline_request
    from durapipe.views.progress import watch
    from durapipe.store.records import read_run_record
    from durapipe.load.run_guard import refuse_run_during_import, refuse_unguarded_script
    from durapipe.host.session import LocalSession, state_dir_for

    refuse_run_during_import()
    opened = _open(store)
    request = pipeline_request(pipeline_or_target, dict(params or {}), dict(inputs or {}), list(force or []),
                                max_parallel, opened, register_model=register_model, kind="python",
                                publish=publish)
    if _uses_main(request):
        refuse_unguarded_script()
    with _main_script_hidden(request), \
            LocalSession(opened.url, state_dir_for(), max_parallel, inline_activities=True) as session:
        run_id = session.start_run(request)
        if progress:
            print(f"run {run_id} started (store {opened.url})", file=sys.stderr)
        status = watch(lambda: session.host.get_status(run_id, show_input=False), f"run {run_id}",
                       False, None, pause=lambda seconds: session.host.wait(run_id, seconds, show_input=False)) if progress else \
            _wait(session, run_id)
        session.remember_plan(run_id)
    try:
        return Run(read_run_record(opened, run_id), opened)
    except DurapipeError:
        output = status.get("output")
        message = output.splitlines()[0] if isinstance(output, str) and output else "the run did not finish"
        return Run({"run_id": run_id, "pipeline": request["spec"]["name"], "status": "failed", "error": message},
                   opened)


@contextlib.contextmanager
def _main_script_hidden(request: dict[str, Any]) -> Iterator[None]:
    """Keep worker processes from re-running the calling script, unless its steps live in it.

    multiprocessing starts each worker by importing the parent's main script (as `__mp_main__`);
    a script that calls durapipe.run unguarded would run again in every worker. Steps imported by
    reference never need it, so while the run lasts the main module's file is not offered.
    """
    main = sys.modules.get("__main__")
    if main is None or _uses_main(request) or "__file__" not in vars(main):
        yield
        return
    saved = main.__dict__.pop("__file__")
    try:
        yield
    finally:
        main.__dict__["__file__"] = saved


def _uses_main(request: dict[str, Any]) -> bool:
    return any(s["ref"].startswith("__main__:") for s in request["spec"]["steps"])


def _wait(session: Any, run_id: str) -> dict[str, Any]:
    while True:
        status = session.host.get_status(run_id, show_input=False)
        if status.get("runtimeStatus") in TERMINAL:
            return status
        session.host.wait(run_id, 0.5, show_input=False)


def get_run(run_id: str, store: Store | str | None = None) -> Run:
    """The recorded run `run_id`; NotFoundError when the store has none."""
    from durapipe.store.records import read_run_record

    opened = _open(store)
    return Run(read_run_record(opened, run_id), opened)


def register_data(name: str, source: str | Path, description: str | None = None,
                  tags: dict[str, str] | None = None, store: Store | str | None = None) -> dict[str, Any]:
    """`durapipe data register`: a local path or store key as the next version of data asset `name`."""
    from durapipe.catalog import data_assets

    return data_assets.register_source(_open(store), name, str(source), description=description, tags=tags)


def list_data(store: Store | str | None = None) -> list[dict[str, Any]]:
    """`durapipe data list`: every data asset with its latest version."""
    from durapipe.catalog import data_assets

    return data_assets.list_assets(_open(store))


def data_versions(name: str, store: Store | str | None = None) -> list[dict[str, Any]]:
    """`durapipe data versions`: every version of data asset `name`, oldest first."""
    from durapipe.catalog import data_assets

    return data_assets.list_versions(_open(store), name)


def get_data(name: str, version: int | None = None, store: Store | str | None = None) -> dict[str, Any]:
    """`durapipe data show`: one version (default: the latest) of data asset `name`."""
    from durapipe.catalog import data_assets

    return data_assets.get_version(_open(store), name, version)


def download_data(name: str, dest: str | Path, version: int | None = None, store: Store | str | None = None) -> Path:
    """`durapipe data download`: write a data version into folder `dest`; return the written path."""
    from durapipe.catalog import data_assets

    return data_assets.download(_open(store), name, version, dest)[1]


def register_model(run_id: str, name: str, store: Store | str | None = None) -> dict[str, Any]:
    """`durapipe models register`: the model output of run `run_id` as a version of `name`; the policy decides the champion."""
    from durapipe.engine.model_registration import register_run_model
    from durapipe.store.records import read_run_record

    opened = _open(store)
    return register_run_model(opened, read_run_record(opened, run_id), name)[0]


def register_model_files(name: str, path: str | Path, metrics: dict[str, Any] | None = None,
                         store: Store | str | None = None) -> dict[str, Any]:
    """`durapipe models register NAME --path`: the file or folder at `path` (a pretrained model) as a version of
    `name`, with `metrics`; the first version becomes the champion."""
    from durapipe.catalog import registry
    from durapipe.store.artifacts import put_artifact

    path = Path(path)
    if not path.exists():
        raise UsageError(f"Cannot register {str(path)!r} as model {name}: there is no such file or folder.")
    opened = _open(store)
    return registry.register_files(opened, name, put_artifact(opened, path), str(path.resolve()), metrics)[0]


def promote_model(name: str, version: int, store: Store | str | None = None) -> dict[str, Any]:
    """`durapipe models promote`: make version `version` of `name` the champion."""
    from durapipe.catalog import registry

    return registry.promote(_open(store), name, version)


def list_models(store: Store | str | None = None) -> list[dict[str, Any]]:
    """`durapipe models list`: every model with its champion."""
    from durapipe.catalog import registry

    return registry.list_models(_open(store))


def get_model(name: str, store: Store | str | None = None) -> dict[str, Any]:
    """`durapipe models show`: one model's versions and champion."""
    from durapipe.catalog import registry

    return registry.describe_model(_open(store), name)
