"""A step's `environment=`: a requirements file or a list of requirement strings, read and checked at definition."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from durapipe.core.errors import DefinitionError


def read_requirements(value: Any, project_root: Path) -> tuple[str, ...]:
    """The requirement lines of `value` (a file path relative to `project_root`, or a list of strings), checked."""
    if isinstance(value, str):
        path = Path(value)
        if path.is_absolute() or ".." in path.parts:
            raise DefinitionError(f"environment {value!r} must be a requirements file inside the project, "
                                  "given relative to its root.")
        file = project_root / path
        try:
            text = file.read_text()
        except OSError:
            raise DefinitionError(f"environment {value!r}: there is no readable requirements file {file}.") from None
        lines = [line.split(" #", 1)[0].strip() for line in text.splitlines()]
        items = [line for line in lines if line and not line.startswith("#")]
        where = f"in {value}"
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
        where = "in environment="
    else:
        raise DefinitionError(f"environment must be a requirements file path or a list of requirement strings, "
                              f"not {value!r}.")
    return check_requirements(items, where)


def check_requirements(items: list[str] | tuple[str, ...], where: str = "in environment=") -> tuple[str, ...]:
    """`items` as a tuple, each a PEP 508 requirement; raise DefinitionError naming the first that is not."""
    if not items:
        raise DefinitionError(f"environment lists no requirements ({where}); leave it out to use the app's own.")
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        # Inside the step's own environment, which need not have `packaging`: the host that
        # declared the step has checked these lines already.
        return tuple(items)
    for item in items:
        if not isinstance(item, str) or item.startswith("-"):
            raise DefinitionError(f"{item!r} {where} is not a requirement: pip options (-r, -e, --index-url) "
                                  "are not accepted; list the packages themselves.")
        try:
            Requirement(item)
        except InvalidRequirement as exc:
            raise DefinitionError(f"{item!r} {where} is not a valid requirement: {exc}.") from None
    return tuple(items)
