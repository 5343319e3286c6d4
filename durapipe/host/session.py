"""Running pipelines on the embedded local host: the glue between the CLI and the host."""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.model import contracts
from durapipe.model.statuses import ACTIVE, RuntimeStatus
from durapipe.core.errors import UsageError
from durapipe.host.state_file import load_state, save_state
from durapipe.core.paths import DEFINITIONS_ENV, PROJECT_ROOT_ENV, state_dir
from durapipe.store.url import open_store

if TYPE_CHECKING:
    from durapipe.store.base import Store

APP_SCRIPT_FILE = "main.py"
# Activities that a CLI session runs in its own process: they run no step code, and the CLI
# has already imported the pipeline they plan.
INLINE_ACTIVITIES = frozenset({contracts.PLAN_RUN, contracts.RECORD_RUN, contracts.LIST_PARTITIONS,
                               contracts.GATHER_PARTITIONS})


def app_script_root() -> Path:
    """The folder holding the function app's entry file, found the way the worker would see it.

    A checkout of durapipe (an editable install) has main.py and host.json beside the app packages;
    an installed wheel has only the packages, so their script root is written from the templates
    `durapipe package` uses (installed_app_root).
    """
    found = importlib.util.find_spec("function_app")
    if found is None or not found.origin:
        raise UsageError("The durapipe function app is not installed; reinstall durapipe (`pip install durapipe`).")
    root = Path(found.origin).resolve().parent.parent
    if (root / APP_SCRIPT_FILE).is_file() and (root / "host.json").is_file():
        return root
    return installed_app_root()


def installed_app_root() -> Path:
    """A script root holding only main.py and host.json from durapipe's templates, in durapipe's cache folder.

    The folder is named by the hash of its two files, so every durapipe version gets its own and a
    half-written folder is never used (it is written under a temporary name, then renamed).
    """
    import hashlib
    import tempfile

    from durapipe.deploy import TEMPLATES
    from durapipe.core.paths import user_cache_folder

    files = {APP_SCRIPT_FILE: (TEMPLATES / "main.py.txt").read_bytes(), "host.json": (TEMPLATES / "host.json").read_bytes()}
    digest = hashlib.sha256(b"".join(name.encode() + b"\0" + data for name, data in sorted(files.items())))
    root = user_cache_folder() / "app" / digest.hexdigest()[:16]
    if (root / APP_SCRIPT_FILE).is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".app-", dir=root.parent))
    for name, data in files.items():
        (staging / name).write_bytes(data)
    try:
        staging.rename(root)
    except OSError:  # another process wrote the same folder first
        for name in files:
            (staging / name).unlink()
        staging.rmdir()
    return root


def state_dir_for(project: Path | None = None) -> Path:
    """The local host's state folder (journals, keys): $DURAPIPE_HOME/host, else in the project's `.durapipe/`."""
    home = os.environ.get("DURAPIPE_HOME")
    return (Path(home) if home else state_dir(project)) / "host"


@dataclass
class LocalSession:
    """A local host bound to one store, with the app loaded the way the Functions worker does."""

    store_url: str
    state_dir: Path
    max_parallel: int | None = None
    # Another app (e.g. a test app served by `durapipe serve --script-root`); None: the durapipe app.
    script_root: Path | None = None
    script_file: str | None = APP_SCRIPT_FILE
    # Run INLINE_ACTIVITIES in this process (the CLI, which has already imported the pipeline).
    inline_activities: bool = False

    def __post_init__(self) -> None:
        from durapipe.host import sdk_compat

        sdk_compat.install()  # before the imports below load the SDK and the app
        from durapipe.host.app_loader import load_app
        from durapipe.host.local_host import LocalHost
        from durapipe.host.workers import ActivityPool, InlineActivities

        self.store = open_store(self.store_url)
        self.app = load_app(self.script_root or app_script_root(), self.script_file)
        max_parallel = self.max_parallel or os.cpu_count() or 1
        from durapipe.host.host_scratch import HostScratch
        from durapipe.core.scratch import SCRATCH_ENV

        # Steps' scratch lives in the state folder, and a host that died leaves none behind for long.
        self.scratch = HostScratch(self.state_dir)
        # Workers build the same app: the same store, and the same project's definitions.
        env = {"DURAPIPE_STORE": self.store.url, SCRATCH_ENV: str(self.scratch.path),
               **{k: os.environ[k] for k in (DEFINITIONS_ENV, PROJECT_ROOT_ENV) if k in os.environ}}
        runner = None
        self._local_key: str | None = None
        if self.inline_activities:
            from durapipe.host.function_key import local_run_key
            from durapipe.engine.request import LOCAL_RUN_KEY_ENV

            # Only a CLI session signs its requests and can check them: a served host never holds the key.
            self._local_key = local_run_key(self.state_dir)
            env[LOCAL_RUN_KEY_ENV] = self._local_key
            # Only the activities that run no step code; steps always run in worker processes.
            workers = ActivityPool(self.app.script_root, self.app.script_file, max_parallel, env, self.state_dir)
            runner = InlineActivities(self.app, INLINE_ACTIVITIES, workers, env)
        self.host = LocalHost(self.app, self.state_dir, max_parallel=max_parallel, activity_runner=runner, env=env)
        self.host.start()

    def close(self) -> None:
        """Stop the host and its worker processes, then remove its scratch folder."""
        self.host.stop()
        self.scratch.close()

    def __enter__(self) -> "LocalSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start_run(self, request: dict[str, Any]) -> str:
        """Start the pipeline orchestrator for `request` and remember which store it uses.

        A CLI (or Python API) session signs the request, so planning accepts its local input paths.
        """
        from durapipe.engine.request import LOCAL_TRIGGER_KINDS, mark_local_request, orchestration_input

        # The Python API (durapipe.run) is a local session like the CLI: it may name local paths too.
        if self._local_key is not None and (request.get("trigger") or {}).get("kind") in LOCAL_TRIGGER_KINDS:
            request = mark_local_request(request, self._local_key)
        run_id = request["run_id"]
        _remember_store(self.state_dir, run_id, self.store.url)
        return self.host.start_new(contracts.PIPELINE_RUN, run_id, orchestration_input(request))

    def remember_plan(self, run_id: str) -> None:
        """After run `run_id` completed having run steps, plan it once more, so the plan memo holds it.

        The next run of the same request then takes every step's fingerprint from the memo instead
        of computing it (`engine.plan_memo`), as it would after a run that reused every step. The
        plan is made exactly as planning makes it, from the run's own request, and runs nothing: it
        can only remember what a plan made now finds, and writes nothing unless every step is reused.
        """
        import json

        from durapipe.engine.plan import make_plan
        from durapipe.engine.plan_memo import applies
        from durapipe.core.errors import DurapipeError
        from durapipe.engine.request import CodePolicy, check_run_request

        # The app's catalog lives in the app, out of this library's sight: no unsigned code root is
        # accepted here (this session's own runs are signed with its key, and accepted wherever they are).
        code = CodePolicy.serving(())
        status = self.host.get_status(run_id, show_input=False)
        summary = status.get("output")
        if status.get("runtimeStatus") != RuntimeStatus.Completed or not isinstance(summary, dict) \
                or summary.get("status") != "completed" \
                or all(step.get("status") == "reused" for step in (summary.get("steps") or {}).values()):
            return  # failed (nothing to remember), or planned with every step reused (remembered then)
        meta = self.host.journal.read_meta(run_id)
        if meta is None:
            return
        try:
            request = check_run_request(json.loads(meta["input"]), self._local_key, code=code)
            if applies(request):
                make_plan(self.store, request, code=code)
        except DurapipeError:
            pass  # only speed is lost: the code or the inputs changed since, say, and the next plan works it out


def run_liveness(state_dir: Path, run_id: str) -> str | None:
    """"live" when a host drives run `run_id` (holds its lock), "interrupted" when this host's journal has it
    unfinished and nobody drives it, None when this host never ran it."""
    from durapipe.host.journal import Journal
    from durapipe.host.locks import lock_holder

    journal_root = Path(state_dir) / "instances"
    if not journal_root.is_dir():
        return None
    journal = Journal(Path(state_dir))
    if lock_holder(journal.lock_path(run_id)) is not None:
        return "live"
    meta = journal.read_meta(run_id)
    if meta is None:
        return None
    return "interrupted" if meta.get("runtimeStatus") in ACTIVE else None


def reconcile_run(state_dir: Path, store: Store, record: dict[str, Any]) -> dict[str, Any]:
    """The record of a run this host finished whose record still says running (the store lost the write):
    recorded again from the journal, deliveries included; any other record as it is."""
    from durapipe.host.history import EventType
    from durapipe.host.journal import Journal

    if record.get("status") != "running" or not (Path(state_dir) / "instances").is_dir():
        return record
    journal = Journal(Path(state_dir))
    meta = journal.read_meta(record["run_id"])
    if meta is None or meta.get("runtimeStatus") not in (RuntimeStatus.Completed, RuntimeStatus.Failed):
        return record
    outcome = next((e.get("Input") for e in reversed(journal.read_history(record["run_id"]))
                    if e.get("EventType") == EventType.TASK_SCHEDULED and e.get("Name") == contracts.RECORD_RUN), None)
    if outcome is None:
        return record  # it ended before recording (planning failed): nothing to record again
    import json

    from durapipe.engine.record_run import record_run
    from durapipe.store.records import read_run_record

    record_run(store, json.loads(outcome))
    return read_run_record(store, record["run_id"])


def store_of_run(state_dir: Path, run_id: str) -> str | None:
    """The store URL a locally started run used, if this host started it."""
    return load_state(state_dir / "runs" / f"{run_id}.json", "its store is unknown").get("store")


def other_store_of_run(state_dir: Path, run_id: str, store_url: str, unrecorded: str | None = None) -> str | None:
    """The store run `run_id` recorded (or `unrecorded`, when it recorded none) when it is not the store at
    `store_url`; None when it is, or none is known."""
    recorded = store_of_run(state_dir, run_id) or unrecorded
    if not isinstance(recorded, str) or _normalised(recorded) == _normalised(store_url):
        return None
    return recorded


def _normalised(store_url: str) -> str:
    """A store URL spelt one way: a local folder as its absolute file:// URL, any other without a trailing slash."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(store_url)
    if "://" not in store_url or parts.scheme.lower() == "file":
        folder = Path(unquote(parts.path) if "://" in store_url else store_url).expanduser().absolute()
        return Path(os.path.normpath(folder)).as_uri()
    return store_url.rstrip("/")


def _remember_store(state_dir: Path, run_id: str, store_url: str) -> None:
    save_state(state_dir / "runs" / f"{run_id}.json", {"store": store_url})


def remember_store(state_dir: Path, run_id: str, store_url: str) -> None:
    """Record that run `run_id` of this state folder runs on the store at `store_url`."""
    _remember_store(state_dir, run_id, store_url)


def serve_store(state_dir: Path) -> str | None:
    """The store the last `durapipe serve` of this state folder served: the store of the runs it started."""
    recorded = load_state(state_dir / "serve.json", "the store of runs a serve started is unknown").get("store")
    return recorded if isinstance(recorded, str) else None


def remember_serve_store(state_dir: Path, store_url: str) -> None:
    """Record the store a `durapipe serve` of this state folder serves (the runs it starts do not record one each)."""
    save_state(state_dir / "serve.json", {"store": store_url})
