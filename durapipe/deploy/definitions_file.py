"""Where a project's definitions are, read from its pyproject.toml, and the blob triggers they declare.

Interim: issue 9 brings `durapipe.project.definitions_ref` / `load_definitions`; these two
functions follow the same contract and give way to them when they land.
"""
from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path
from typing import Any

from durapipe.errors import DefinitionError, DurapipeError, UsageError


def definitions_ref(root: Path) -> str | None:
    """The `[tool.durapipe] definitions` reference ("module:attr") of the project at `root`, else None."""
    pyproject = Path(root) / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("durapipe", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{pyproject} is not valid TOML: {exc}.") from None
    ref = table.get("definitions")
    if ref is not None and not isinstance(ref, str):
        raise UsageError(f"[tool.durapipe] definitions in {pyproject} must be text such as \"definitions:defs\".")
    return ref


def load_definitions(root: Path, ref: str) -> Any:
    """Import `module:attr` with the project root on sys.path and return the object it names."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not all(p.isidentifier() for p in [*module_name.split("."), attr]):
        raise UsageError(f"The definitions reference {ref!r} must look like module:attr, such as definitions:defs.")
    root_str = str(Path(root).resolve())
    if root_str not in sys.path:
        sys.path.insert(0, root_str)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UsageError(f"The definitions module {module_name!r} was not found in {root_str}.") from None
        raise DefinitionError(f"Importing the definitions module {module_name!r} failed: {exc}.") from None
    except DurapipeError:
        raise
    except Exception as exc:  # the user's module: any error is theirs to fix, reported in one sentence
        raise DefinitionError(f"Importing the definitions module {module_name!r} failed: "
                              f"{type(exc).__name__}: {exc}.") from None
    if not hasattr(module, attr):
        raise UsageError(f"The definitions module {module_name!r} has no {attr!r}.")
    return getattr(module, attr)


def blob_triggers(definitions: Any) -> list[Any]:
    """The blob triggers of loaded definitions (each with `name` and `path`)."""
    triggers = getattr(definitions, "blob_triggers", None) or []
    return list(triggers.values() if isinstance(triggers, dict) else triggers)
