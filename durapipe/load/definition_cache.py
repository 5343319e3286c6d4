"""A pipeline's built spec, remembered across CLI runs while nothing its definition read has changed.

Loading a pipeline imports its file and every module that file imports (a module per step, in a
large project), runs `@step` over each function and the pipeline's body, and checks the spec it
builds: at 1,000 steps about as long as a whole unchanged run at 50. What that load produced is
a function of what it read, and the load is watched while it runs:

- every module it imported (new entries of `sys.modules`): the file's signature, and every place
  on the import path where a module of that name created later would be found first (shadowing it);
- every file it opened and every folder it listed (Python's audit events `open`, `os.listdir`,
  `os.scandir`), and every path it asked `os.stat`, `os.lstat` or `os.access` about (whether a
  file exists, say), with their signatures;
- the whole environment (`os.environ`), the command line, the working folder, the import path,
  the interpreter, and the signatures of durapipe's own modules that build specs.

A later run uses the remembered spec only when every one of those is unchanged, and only when the
signatures were settled when it was written (nothing changed within `RACY_WINDOW_S`, as for code
closures). A load that started a process, opened a connection or called out through ctypes is
never remembered. What the watch cannot see is a definition that depends on the clock or on
random numbers; durapipe's definitions are meant to be a function of their code and settings,
as `Catalog.refresh` already assumes when serving.

On a hit the step modules are not imported at all: planning fingerprints each step from its
recorded file, qualified name and line (`durapipe.load.targets.locate_step`), which is what importing
it would have told.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import json
import os
import stat
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from durapipe.cache import folders
from durapipe.cache.entries import EntryFolder
from durapipe.core.file_signature import FileSignature, settled
from durapipe.core.paths import find_project_root
from durapipe.fingerprint.closure_cache import path_signature

# Bump when an entry's meaning changes (2: the spec kept as its text).
FORMAT = 2
CACHE_FOLDER = "definitions"
# Events after which a load is not remembered: what it learnt from them is not a file we can watch.
_UNWATCHABLE = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                "os.startfile", "urllib.", "http.client.", "ftplib.", "smtplib.", "ctypes.", "sqlite3.",
                "webbrowser.", "_winapi.", "winreg.", "shutil.")
# Entries kept per project (the newest): a new shell or another command line makes a new key.
KEEP = 8
# durapipe's own modules whose code decides the spec a body builds (paths in the durapipe package; a
# folder: its modules). Each must exist: a missing one would stop vouching for the code it names.
_BUILDERS = ("dsl", "model", "load/targets.py", "load/sys_path.py", "load/definition_cache.py", "core/canonical.py",
             "core/names.py", "core/errors.py", "core/file_signature.py", "cache/entries.py")


@dataclass
class Watch:
    """What one load read, gathered while it runs."""

    opened: set[str] = field(default_factory=set)
    listed: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)
    unwatchable: str | None = None
    thread: int = field(default_factory=threading.get_ident)

    def event(self, name: str, args: tuple[Any, ...]) -> None:
        if threading.get_ident() != self.thread:
            return  # the host's threads, meanwhile, are not the definition
        if name in ("open", "os.listdir", "os.scandir") and _by_import_system():
            return  # module files and import-path folders: the modules' signatures and shadow probes cover them
        if name == "open":
            path = args[0] if args else None
            if isinstance(path, (str, bytes, os.PathLike)):
                self.opened.add(_absolute(path))
        elif name in ("os.listdir", "os.scandir"):
            path = args[0] if args else "."
            if isinstance(path, (str, bytes, os.PathLike)) or path is None:
                self.listed.add(_absolute(path if path is not None else "."))
        elif self.unwatchable is None and name.startswith(_UNWATCHABLE):
            self.unwatchable = name


_watch: Watch | None = None
_hook_installed = False


def _by_import_system() -> bool:
    # The audit hook's caller is the frame that raised the event: importlib's own reads of modules.
    caller = sys._getframe(3)
    return caller.f_code.co_filename.startswith("<frozen importlib")


def _hook(name: str, args: tuple[Any, ...]) -> None:
    watch = _watch
    if watch is not None:
        watch.event(name, args)


def _absolute(path: Any) -> str:
    path = os.fsdecode(os.fspath(path))
    return os.path.abspath(path)


@contextlib.contextmanager
def watching() -> Iterator[Watch]:
    """Within the block, what this thread opens, lists and stats is recorded (an audit hook, and os.stat wrapped)."""
    global _watch, _hook_installed
    if not _hook_installed:
        sys.addaudithook(_hook)  # an audit hook cannot be removed: it does nothing outside a watch
        _hook_installed = True
    watch = Watch()
    originals = {name: getattr(os, name) for name in ("stat", "lstat", "access")}

    def asking(original: Callable[..., Any]) -> Callable[..., Any]:
        def asked(path: Any, *args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == watch.thread and isinstance(path, (str, bytes, os.PathLike)):
                watch.asked.add(_absolute(path))
            return original(path, *args, **kwargs)
        return asked

    _watch = watch
    for name, original in originals.items():
        setattr(os, name, asking(original))
    try:
        yield watch
    finally:
        for name, original in originals.items():
            setattr(os, name, original)
        _watch = None


def followed_signature(path: str, entries: bool = True) -> list[Any]:
    """The entry itself and what it points to: a symlink swapped for another, or its target edited, both show.

    With `entries` false, a folder is described by its type and inode alone (its times move with every
    file created in it).
    """
    followed = FileSignature.of(path)
    own = path_signature(path)
    if not entries and followed is not None and followed.kind == stat.S_IFDIR:
        followed = _without_times(followed)
        own = own if own is None or own.kind != stat.S_IFDIR else _without_times(own)
    return [own, followed]


def _without_times(folder: FileSignature) -> FileSignature:
    return folder._replace(size=0, mtime_ns=0, ctime_ns=0)


def _settled_pair(pair: list[Any], moment: float) -> bool:
    own, followed = pair
    return settled(own, moment) and settled(followed, moment)


def _shadow_probes(name: str, module: Any) -> list[str]:
    """Paths where a module called `name` created later would be imported instead of `module`."""
    parent, _, last = name.rpartition(".")
    if parent:
        search = list(getattr(sys.modules.get(parent), "__path__", None) or [])
    else:
        search = [entry or os.getcwd() for entry in sys.path]
    found = getattr(module, "__file__", None)
    suffixes = importlib.machinery.all_suffixes()
    probes: list[str] = []
    for entry in search:
        folder = os.path.abspath(entry)
        if found and (found.startswith(folder + os.sep) and os.path.dirname(found) in (folder, os.path.join(folder, last))):
            break  # where it was found: later entries cannot shadow it
        probes.append(os.path.join(folder, last))
        probes.extend(os.path.join(folder, last + suffix) for suffix in suffixes)
    return probes


def _exists(path: str) -> int:
    try:
        return stat.S_IFMT(os.stat(path).st_mode)
    except OSError:
        return 0


def _builder_signatures() -> list[Any]:
    folder = Path(__file__).parent.parent
    paths: list[str] = []
    for name in _BUILDERS:
        path = folder / name
        if path.is_dir():
            paths.extend(str(p) for p in sorted(path.glob("*.py")))
        else:
            paths.append(str(path))
    return [[p, path_signature(p)] for p in paths]


def entry_key(target_file: str, attr: str) -> str:
    """The key of a load: what it ran in (not what it read, which the entry records and checks)."""
    environment = sorted(os.environ.items())
    parts = [FORMAT, sys.version, sys.executable, target_file, attr, os.getcwd(), list(sys.path), sys.argv[1:],
             environment, _builder_signatures()]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def entries_of(project_root: Path) -> EntryFolder:
    """The remembered loads of the project at `project_root` (in its state folder)."""
    return EntryFolder(folders.in_project(project_root, CACHE_FOLDER), KEEP)


def read_entry(entries: EntryFolder, key: str) -> dict[str, Any] | None:
    """The entry for `key` when nothing it read has changed since; else None."""
    entry = entries.read(key)
    if entry is None or not isinstance(entry.get("spec_text"), str):
        return None
    try:
        asked = set(entry["asked"])
        unchanged = (all(path_signature(p) == FileSignature.from_json(s) for p, s in entry["modules"].items())
                     and all(_exists(p) == kind for p, kind in entry["probes"].items())
                     and all(followed_signature(p, p not in asked) == _signature_pair(pair)
                             for p, pair in entry["read"].items()))
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    return entry if unchanged else None


def _signature_pair(pair: list[Any]) -> list[FileSignature | None]:
    own, followed = pair
    return [FileSignature.from_json(own), FileSignature.from_json(followed)]


def record_load(key: str, before: set[str], watch: Watch, result: dict[str, Any],
                caught: list[warnings.WarningMessage], moment: float) -> dict[str, Any] | None:
    """The entry for a load that imported the modules not in `before`, or None when it cannot be trusted later."""
    if watch.unwatchable is not None:
        return None
    modules: dict[str, Any] = {}
    probes: dict[str, int] = {}
    for name in sorted(set(sys.modules) - before):
        module = sys.modules.get(name)
        if module is None:
            continue
        filename = getattr(module, "__file__", None)
        if filename:
            modules[os.path.abspath(filename)] = path_signature(os.path.abspath(filename))
        elif getattr(module, "__path__", None) is None:
            continue  # built in: part of the interpreter, which the key names
        for probe in _shadow_probes(name, module):
            probes[probe] = _exists(probe)
    read = {p: followed_signature(p) for p in sorted(watch.opened | watch.listed)}
    # Asked about (os.stat): a folder for what it is, not for its entries' comings and goings (listing it records those).
    read.update({p: followed_signature(p, entries=False) for p in sorted(watch.asked - watch.opened - watch.listed)})
    if not all(settled(s, moment) for s in modules.values()) or not all(_settled_pair(pair, moment) for pair in read.values()):
        return None  # written just now: an equal signature later could hide a change
    return {"key": key, "modules": modules, "probes": probes, "read": read,
            "asked": sorted(watch.asked - watch.opened - watch.listed),
            "warnings": [{"message": str(w.message), "category": w.category.__name__, "filename": w.filename,
                          "lineno": w.lineno} for w in caught if issubclass(w.category, UserWarning)],
            **result}


def replay_warnings(entry: dict[str, Any]) -> None:
    """Show again the warnings the remembered load gave (a step's timeout too long for Azure, say)."""
    for w in entry.get("warnings") or []:
        category = UserWarning if w.get("category") == "UserWarning" else Warning
        warnings.warn_explicit(w["message"], category, w.get("filename") or "<definition>", int(w.get("lineno") or 0))


@dataclass
class Definition:
    """A pipeline as a run request needs it: its spec, its code root and the target naming it.

    A remembered definition keeps its spec as text, known valid (it was read when remembered, by
    the same reader); its objects are built only when asked for (`spec`): a run needs only the
    spec's JSON and its parameters (`params_spec`).
    """

    target: str
    built: Any  # the PipelineSpec, when this process built or read it
    code_root: str
    pipeline: Any = None  # the Pipeline object, when this process imported it
    remembered_text: str | None = None  # the spec's text as remembered

    @property
    def remembered(self) -> bool:
        return self.remembered_text is not None

    @property
    def spec(self) -> Any:
        """The PipelineSpec (read from the remembered text the first time it is asked for)."""
        if self.built is None:
            from durapipe.model.spec import PipelineSpec

            self.built = PipelineSpec.from_json(self.remembered_text)
        return self.built

    def params_spec(self, spec_json: dict[str, Any]) -> Any:
        """A spec with at least the pipeline's name and parameters (what resolving a run's parameters reads),
        given the JSON `spec_json` returned."""
        if self.built is None:
            from durapipe.model.spec import params_view

            return params_view(spec_json)
        return self.built

    def spec_json(self) -> dict[str, Any]:
        """The spec as JSON, a copy the caller may change."""
        if self.built is None:
            return json.loads(self.remembered_text)
        return self.built.to_json()


def load_definition(target: str, before_import: Callable[[], None] | None = None) -> Definition:
    """The pipeline named by "path/to/file.py:name" (or "module:name"), from the cache when nothing it read changed.

    `before_import` is called when the pipeline must be imported after all (not remembered, or
    something it read changed), before the import and outside what the load watches.
    """
    from durapipe.load.targets import code_root_of, load_target, make_current_root, remember_locations, step_location
    from durapipe.model.spec import spec_text

    location, sep, attr = target.rpartition(":")
    if not (sep and location.endswith(".py") and attr) or not os.path.isfile(location):
        # Only files are remembered (a module's file is known only once imported); a missing file says so.
        if before_import is not None:
            before_import()
        pipeline = load_target(target)
        return Definition(target, pipeline.spec, str(code_root_of(pipeline)), pipeline)
    file = os.path.realpath(os.path.expanduser(location))
    shown = f"{file}:{attr}"
    key = entry_key(file, attr)
    entries = entries_of(find_project_root(file))
    entry = read_entry(entries, key)
    if entry is not None:
        # The import path as the load left it (the pipeline's folder first): planning resolves imports on it.
        make_current_root(Path(file).parent)
        sys.path[:] = entry["sys_path"]
        # Not read again: it was read when it was remembered, by this same reader (durapipe's own spec
        # module is in the key), and a run needs only its JSON (Definition.spec reads it when asked).
        remember_locations(entry["code_root"], {ref: tuple(where) for ref, where in entry["steps"].items()})
        replay_warnings(entry)
        return Definition(shown, None, entry["code_root"], remembered_text=entry["spec_text"])
    if before_import is not None:
        before_import()
    before = set(sys.modules)
    with warnings.catch_warnings(record=True) as caught:
        with watching() as watch:
            pipeline = load_target(target)
            spec = pipeline.spec
            code_root = str(code_root_of(pipeline))
    steps = {s.ref: step_location(s.ref, code_root) for s in spec.steps}
    from durapipe.fingerprint.closure_cache import now

    moment = now()
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if all(where is not None for where in steps.values()):
        entry = record_load(key, before, watch, {"spec_text": spec_text(spec.to_json()), "code_root": code_root,
                                                 "steps": steps, "target": shown, "sys_path": list(sys.path)},
                            caught, moment)
        if entry is not None:
            entries.write(key, entry)
    return Definition(shown, spec, code_root, pipeline)
