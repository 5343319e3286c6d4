"""Loading a project's Definitions: `module:attr` imported with the project's root first on sys.path."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from durapipe.core.errors import DefinitionError, DurapipeError, UsageError
from durapipe.load.sys_path import forget_other_project, make_current_project, remember_project_modules


def load_definitions(root: Path, ref: str) -> Any:
    """Import `module:attr` with the project root on sys.path and return the Definitions it names."""
    from durapipe.dsl.definitions import Definitions

    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr or not all(p.isidentifier() for p in [*module_name.split("."), attr]):
        raise UsageError(f"The definitions reference {ref!r} must look like module:attr, such as definitions:defs.")
    root = Path(root).resolve()
    # This project's folder first: a process that loaded another project (a notebook, a test run)
    # must not find that project's module of the same name.
    make_current_project(root)
    forget_other_project(module_name.partition(".")[0], root)
    before = set(sys.modules)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UsageError(f"The definitions module {module_name!r} was not found in {root}.") from None
        raise DefinitionError(f"Importing the definitions module {module_name!r} failed: {exc}.") from None
    except DurapipeError:
        raise
    except Exception as exc:  # the user's module: any error is theirs to fix, reported in one sentence
        raise DefinitionError(f"Importing the definitions module {module_name!r} failed: "
                              f"{type(exc).__name__}: {exc}.") from None
    finally:
        remember_project_modules(root, before)
    found = getattr(module, attr, None)
    if not isinstance(found, Definitions):
        raise UsageError(f"{module_name}.{attr} must be a durapipe.Definitions object, "
                         f"not {type(found).__name__ if found is not None else 'missing'}.")
    return found

