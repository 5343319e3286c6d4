"""`durapipe package`: the function app Azure runs for a project, as a folder or a zip.

The package is the app's script root: the entry file, host.json, the app packages, the
durapipe library, the project's own code with its pyproject.toml (which names its
definitions), and a requirements.txt the Functions build installs from the package
registry. Local state, virtual environments, settings files, secrets and tests stay out.
"""
from __future__ import annotations

import os
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from durapipe.deploy import TEMPLATES, subscriptions
from durapipe.deploy.requirements import check_imports_are_required, requirements_text
from durapipe.core.errors import UsageError
from durapipe.core.fixed_zip import add_entry
from durapipe.core.paths import definitions_ref
from durapipe.load.project import load_definitions

ENTRY_FILE = "main.py"
APP_PACKAGES = ("function_app", "activities", "orchestrators")
LIBRARY = "durapipe"
DEFAULT_OUT = Path("build") / "app.zip"
DEFAULT_PARAMETERS = Path("infra") / "blob-triggers.parameters.json"
# A folder written by `durapipe package` holds this file, so a later run may replace it.
MARKER = ".durapipe-package"

# Never packaged, at any depth: bytecode caches, npm dependencies, tests.
EXCLUDED_DIRS = {"__pycache__", "node_modules", "tests", "test"}
# Never packaged at the top level: build output and the infrastructure templates. (Hidden folders,
# such as .durapipe/, .git/, .venv/ and .azure/, and any virtual environment are skipped everywhere.)
TOP_LEVEL_EXCLUDED_DIRS = {"build", "dist", "infra"}
EXCLUDED_FILES = {"local.settings.json", "azure.yaml", "conftest.py", ".DS_Store"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".pem", ".key", ".pfx", ".p12", ".zip", ".egg-info")
# Top-level names the package itself provides: project files with these names would be shadowed.
RESERVED = {ENTRY_FILE, "requirements.txt", LIBRARY, *APP_PACKAGES}


@dataclass(frozen=True)
class PackageResult:
    """What `build_package` wrote: the package, its file count and size, and the parameters file."""

    out: Path
    files: int
    size: int
    parameters: Path
    blob_triggers: list[str]


def build_package(project_root: Path, out: Path | None = None, parameters: Path | None = None,
                  echo: Callable[[str], None] = lambda _: None) -> PackageResult:
    """Build the deployable app of the project at `project_root` into `out` (a .zip, else a folder)."""
    root = Path(project_root).resolve()
    # Only pyproject.toml counts: the package carries it, and the app finds its definitions there.
    ref = definitions_ref(root, env={})
    if not ref:
        raise UsageError(f"{root} is not a durapipe project: it has no pyproject.toml with "
                         "[tool.durapipe] definitions = \"module:attr\" (`durapipe init` makes one).")
    # Paths given by the user are relative to the working folder, the defaults to the project.
    out = (Path(out) if out else root / DEFAULT_OUT).resolve()
    parameters = (Path(parameters) if parameters else root / DEFAULT_PARAMETERS).resolve()
    echo(f"loading the definitions {ref} of {root}")
    entries = subscriptions.subscription_entries(_blob_triggers(root, ref))

    files = dict(_project_files(root, exclude={out, parameters}))
    own_names = {rel.split("/")[0].removesuffix(".py") for rel in files}
    clash = sorted(RESERVED & {rel.split("/")[0] for rel in files})
    if clash:
        raise UsageError(f"The project has {clash[0]!r} at its top level, which the package provides itself; rename it.")
    requirements = requirements_text(root, skip=LIBRARY)
    # The Functions build installs only requirements.txt: an import it misses would fail on Azure alone.
    check_imports_are_required({rel: path for rel, path in files.items() if rel.endswith(".py")}, requirements,
                               local=own_names | {LIBRARY, *APP_PACKAGES})
    # The app packages are installed beside the library (one distribution); never imported here.
    library_root = Path(__file__).resolve().parents[2]
    for package in (LIBRARY, *APP_PACKAGES):
        files.update(_package_files(library_root, package))
    generated = {
        ENTRY_FILE: (TEMPLATES / "main.py.txt").read_bytes(),
        "requirements.txt": requirements.encode("utf-8"),
    }
    if "host.json" not in files:
        generated["host.json"] = (TEMPLATES / "host.json").read_bytes()

    echo(f"packaging {len(files) + len(generated)} files into {out}")
    size = _write(out, files, generated)
    subscriptions.write_parameters_file(parameters, entries)
    echo(f"wrote the Event Grid subscriptions of {len(entries)} blob trigger(s) to {parameters}")
    return PackageResult(out=out, files=len(files) + len(generated), size=size, parameters=parameters,
                         blob_triggers=[e["function"] for e in entries])


def _blob_triggers(root: Path, ref: str) -> list[Any]:
    """The blob triggers of the project's definitions, loaded without leaving its modules behind.

    Another project packaged later in the same process may have modules of the same names
    (definitions, pipeline, helpers); they must not resolve to these.
    """
    path_before, modules_before = list(sys.path), dict(sys.modules)
    try:
        return list(load_definitions(root, ref).blob_triggers.values())
    finally:
        sys.path[:] = path_before
        for name in list(sys.modules):
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file and Path(file).resolve().is_relative_to(root):
                del sys.modules[name]
        # Modules of another project that loading set aside come back as they were.
        for name, module in modules_before.items():
            sys.modules.setdefault(name, module)


def _is_virtualenv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


def _excluded(path: Path, top_level: bool) -> bool:
    name = path.name
    if path.is_dir():
        return (name in EXCLUDED_DIRS or (top_level and name in TOP_LEVEL_EXCLUDED_DIRS) or name.startswith(".")
                or name.endswith(".egg-info") or _is_virtualenv(path))
    return (name in EXCLUDED_FILES or name.startswith(".") or name.endswith(EXCLUDED_SUFFIXES)
            or (name.startswith("test_") and name.endswith(".py")) or name.endswith("_test.py"))


def _project_files(root: Path, exclude: set[Path]) -> Iterator[tuple[str, Path]]:
    """The project's own files, as (relative posix path, path), without what never belongs in a package."""
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        top_level = here == root
        dirs[:] = sorted(d for d in dirs if not _excluded(here / d, top_level) and (here / d).resolve() not in exclude)
        for name in sorted(names):
            path = here / name
            if _excluded(path, top_level) or path.resolve() in exclude or not path.is_file():
                continue
            if top_level and name == "requirements.txt":
                continue  # folded into the package's own requirements.txt
            yield path.relative_to(root).as_posix(), path


def _package_files(library_root: Path, package: str) -> Iterator[tuple[str, Path]]:
    """Every file of an installed top-level package except bytecode caches."""
    folder = library_root / package
    if not (folder / "__init__.py").is_file():
        raise UsageError(f"The package {package!r} is not installed beside durapipe in {library_root}; "
                         "reinstall durapipe.")
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith((".pyc", ".pyo")):
            yield path.relative_to(library_root).as_posix(), path


def _write(out: Path, files: dict[str, Path], generated: dict[str, bytes]) -> int:
    """Write the package (zip when `out` ends in .zip, else a folder); return its size in bytes."""
    names = sorted({*files, *generated})
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                add_entry(archive, name, generated[name] if name in generated else files[name].read_bytes())
        partial.replace(out)
        return out.stat().st_size
    _clear_folder(out)
    size = 0
    for name in names:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name in generated:
            target.write_bytes(generated[name])
        else:
            shutil.copyfile(files[name], target)
        size += target.stat().st_size
    (out / MARKER).write_text("written by `durapipe package`; the next run replaces this folder\n", encoding="utf-8")
    return size


def _clear_folder(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"{out} exists and is not a folder; give --out a folder or a .zip path.")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise UsageError(f"{out} is a folder that `durapipe package` did not write; give --out an empty or new folder.")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def package_names(out: Path) -> Iterable[str]:
    """The relative paths in a package (zip or folder), for reports and tests."""
    if out.suffix == ".zip":
        with zipfile.ZipFile(out) as archive:
            return sorted(archive.namelist())
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER)
