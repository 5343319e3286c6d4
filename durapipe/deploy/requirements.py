"""requirements.txt of a package: durapipe's dependencies and the project's, pinned to the installed versions."""
from __future__ import annotations

import ast
import functools
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from durapipe.core.errors import UsageError

HEADER = ("# Written by `durapipe package`: what the Functions build installs for this app, pinned to\n"
          "# the versions installed where it was packaged, so step fingerprints match local runs.\n")


def requirements_text(project_root: Path, skip: str = "durapipe") -> str:
    """The text of requirements.txt: durapipe's dependencies, then the project's, each once, `skip` left out."""
    wanted: list[tuple[str, str]] = [(spec, "durapipe") for spec in _durapipe_requirements()]
    wanted += [(spec, "pyproject.toml") for spec in _pyproject_requirements(project_root)]
    wanted += [(spec, "requirements.txt") for spec in _requirements_file(project_root)]
    lines: dict[str, str] = {}
    for spec, source in wanted:
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise UsageError(f"The requirement {spec!r} in the project's {source} is not valid: {exc}.") from None
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(skip) or name in lines:
            continue  # the library is in the package itself; the first mention of a name wins
        lines[name] = _pinned(requirement)
    return HEADER + "".join(f"{line}\n" for line in lines.values())


def check_imports_are_required(project_files: dict[str, Path], requirements: str, local: set[str]) -> None:
    """Raise when the project's code imports an installed distribution that `requirements` neither names nor brings in.

    The Functions build installs only requirements.txt, so such an import would fail on Azure
    even though it works here. `project_files` maps relative paths to files; `local` holds the
    package's own top-level names.
    """
    wanted = _closure(_names_in(requirements))
    for relative, path in project_files.items():
        for top in sorted(_imported_tops(path) - local):
            if top in sys.stdlib_module_names:
                continue
            distributions = importlib.metadata.packages_distributions().get(top, [])
            if distributions and not {canonicalize_name(d) for d in distributions} & wanted:
                raise UsageError(
                    f"The project's {relative} imports {top}, from the distribution {distributions[0]} installed here, which the "
                    "project's pyproject.toml [project] dependencies and requirements.txt do not list; add it to one "
                    "of them so the Functions build installs it.")


def _names_in(requirements: str) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements.splitlines()
            if line.strip() and not line.startswith("#")}


def _closure(names: set[str]) -> set[str]:
    """The distributions `names` install, with everything they require, as installed here."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_requires(name))
    return seen


@functools.cache
def _requires(name: str) -> tuple[str, ...]:
    try:
        specs = importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return ()
    names = []
    for spec in specs:
        requirement = Requirement(spec)
        # Extras are not installed unless asked for; everything else counts, whatever its marker.
        if requirement.marker is None or "extra" not in str(requirement.marker):
            names.append(canonicalize_name(requirement.name))
    return tuple(names)


def _imported_tops(path: Path) -> set[str]:
    """Top-level module names a Python file imports absolutely, anywhere in it (steps often import inside)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError):
        return set()  # not ours to judge here: loading the definitions reports what matters
    tops = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def _pinned(requirement: Requirement) -> str:
    """The requirement pinned to the installed version when that version satisfies it, else as written."""
    if requirement.url:
        raise UsageError(f"The requirement {str(requirement)!r} installs from a URL, which the package registry "
                         "build cannot reproduce; publish it or vendor it into the project.")
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker else ""
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return str(requirement)
    if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
        return str(requirement)
    return f"{requirement.name}{extras}=={version}{marker}"


def _durapipe_requirements() -> list[str]:
    """durapipe's own runtime dependencies (no extras)."""
    return [spec for spec in importlib.metadata.requires("durapipe") or [] if "extra ==" not in spec]


def _pyproject_requirements(root: Path) -> list[str]:
    """The project's `[project] dependencies`."""
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = data.get("project", {}).get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise UsageError(f"[project] dependencies in {root / 'pyproject.toml'} must be a list of requirement strings.")
    return dependencies


def _requirements_file(root: Path) -> list[str]:
    """The requirements listed in the project's own requirements.txt; a pip option is refused."""
    path = root / "requirements.txt"
    if not path.is_file():
        return []
    specs = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise UsageError(f"Line {number} of {path} ({line!r}) is a pip option; the package's requirements.txt "
                             "takes only requirements such as 'pandas>=2'.")
        specs.append(line)
    return specs
