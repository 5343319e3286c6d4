"""Step parameters as canonical JSON values: validated, typed, and equal only when they mean the same thing."""
from __future__ import annotations

import math
import numbers
from typing import Any

from durapipe.core.errors import DefinitionError, DurapipeError, UsageError

PARAM_TYPES = ("str", "int", "float", "bool", "list", "dict", "any")

# Deeper values are almost surely a self-referencing list or dict, which JSON cannot hold.
_MAX_DEPTH = 100


def canonical_params(params: dict[str, Any], *, error: type[DurapipeError] = UsageError) -> dict[str, Any]:
    """`params` as plain JSON values (tuples become lists, keys sorted); raise `error` naming a parameter that is not JSON."""
    if not isinstance(params, dict):
        raise error(f"Parameters must be given as a dict of name to value, not {type(params).__name__}.")
    canonical: dict[str, Any] = {}
    for name in sorted(params, key=str):
        if not isinstance(name, str):
            raise error(f"The parameter name {name!r} is not a string.")
        canonical[name] = canonical_value(name, params[name], error=error)
    return canonical


def canonical_value(name: str, value: Any, *, error: type[DurapipeError] = UsageError) -> Any:
    """One parameter's value as a plain JSON value; raise `error` naming the parameter and where it is not JSON."""
    return _canonical(value, name, name, 0, error)


def coerce_param(name: str, value: Any, type_name: str, *, error: type[DurapipeError] = UsageError) -> Any:
    """`value` checked against the declared type `type_name` (an int is accepted as a float, a bool never as a number)."""
    if type_name not in PARAM_TYPES:
        raise DefinitionError(f"The parameter {name!r} declares the type {type_name!r}; use one of {', '.join(PARAM_TYPES)}.")
    if type_name == "any":
        return canonical_value(name, value, error=error)
    if not _has_type(value, type_name):
        raise error(f"The parameter {name!r} expects {_ARTICLES[type_name]}, got {_show(value)} ({type(value).__name__}).")
    if type_name == "float":
        value = float(value)
    elif type_name == "int":
        value = int(value)
    elif type_name == "list":
        value = list(value)
    return canonical_value(name, value, error=error)


_ARTICLES = {"str": "a str", "int": "an int", "float": "a float", "bool": "a bool", "list": "a list", "dict": "a dict"}


def _has_type(value: Any, type_name: str) -> bool:
    if isinstance(value, bool):
        return type_name == "bool"
    return {
        "str": isinstance(value, str),
        "int": isinstance(value, numbers.Integral),
        "float": isinstance(value, (numbers.Integral, float)),
        "bool": False,
        "list": isinstance(value, (list, tuple)),
        "dict": isinstance(value, dict),
    }[type_name]


def _canonical(value: Any, name: str, where: str, depth: int, error: type[DurapipeError]) -> Any:
    if depth > _MAX_DEPTH:
        raise error(f"The parameter {name!r} is nested more than {_MAX_DEPTH} levels deep at {where}; is it a value that contains itself?")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise error(f"The parameter {name!r} has {value!r} at {where}; NaN and infinities are not JSON values.")
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_canonical(item, name, f"{where}[{index}]", depth + 1, error) for index, item in enumerate(value)]
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key in sorted(value, key=str):
            if not isinstance(key, str):
                raise error(f"The parameter {name!r} has the key {key!r} at {where}; JSON object keys must be strings.")
            result[key] = _canonical(value[key], name, f"{where}[{key!r}]", depth + 1, error)
        return result
    raise error(
        f"The parameter {name!r} has a {type(value).__name__} at {where}; use str, int, float, bool, None, list or dict."
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
