"""Reading a step or pipeline function's signature into inputs, outputs and parameters."""
from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from durapipe.dsl.callsite import Lazy, function_location
from durapipe.dsl.markers import Input, Output
from durapipe.core.errors import DefinitionError, InvalidNameError
from durapipe.core.names import check_name
from durapipe.model.spec import InputSpec, ParamSpec, coerce, json_problem, type_problem

_PLAIN_TYPES = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict",
                typing.Any: "any", object: "any"}


@dataclass
class Signature:
    """What a step or pipeline function declares, in declaration order."""

    inputs: dict[str, InputSpec] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    params: dict[str, ParamSpec] = field(default_factory=dict)


def read_signature(func: Callable, kind: str, allow_outputs: bool) -> Signature:
    """Read `func`'s arguments; raise DefinitionError naming the function's file:line on a mistake."""
    where = Lazy(lambda: function_location(func))
    label = f"{kind} {func.__name__}"
    try:
        sig = inspect.signature(func, eval_str=True)
    except Exception as exc:  # an annotation that does not evaluate: any error is the user's to see
        raise DefinitionError(f"The annotations of {label} ({where}) do not evaluate: {exc}.") from exc
    result = Signature()
    outputs = []
    for param in sig.parameters.values():
        what = Lazy(lambda name=param.name: f"{label} argument {name!r} ({where})")
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise DefinitionError(f"The {what} must be a plain named argument, not *args, **kwargs or positional-only.")
        try:
            check_name(param.name, f"argument name of {label}")
        except InvalidNameError as exc:
            raise DefinitionError(f"{str(exc).rstrip('.')} ({where}).") from None
        marker, optional = _marker(param.annotation)
        if marker is Output:
            if not allow_outputs:
                raise DefinitionError(f"The {what} is an Output; a pipeline's outputs are what its body returns.")
            if optional or param.default is not param.empty:
                raise DefinitionError(f"The {what} is an Output and must have no default and not be optional.")
            outputs.append(param.name)
        elif marker is Input:
            if param.default not in (param.empty, None) or (param.default is None and not optional):
                raise DefinitionError(f"The {what} is an Input; only an optional input (Input | None = None) takes a default.")
            if optional and param.default is param.empty:
                raise DefinitionError(f"The {what} is an optional Input and needs the default None.")
            result.inputs[param.name] = InputSpec(optional=optional)
        else:
            result.params[param.name] = _param_spec(param, what)
    result.outputs = tuple(outputs)
    return result


def _marker(annotation: Any) -> tuple[type | None, bool]:
    if annotation in (Input, Output):
        return annotation, False
    args = _non_none_args(annotation)
    if args is not None and len(args) == 1 and args[0] in (Input, Output):
        return args[0], True
    return None, False


def _non_none_args(annotation: Any) -> list | None:
    """The members of a Union other than None, or None when `annotation` is not a Union."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return None


def _param_spec(param: inspect.Parameter, what: str | Lazy) -> ParamSpec:
    type_name, nullable = _param_type(param.annotation, what)
    if param.default is param.empty:
        return ParamSpec(type=type_name, required=True, nullable=nullable)
    default = param.default
    problem = json_problem(default) or type_problem(default, type_name, nullable)
    if problem:
        raise DefinitionError(f"The default of {what} {_clause(problem)}.")
    return ParamSpec(type=type_name, default=coerce(default, type_name), nullable=nullable)


def _clause(problem: str) -> str:
    return problem if problem.startswith("expects") else f"is not JSON-serialisable: {problem}"


def _param_type(annotation: Any, what: str | Lazy) -> tuple[str, bool]:
    if annotation is inspect.Parameter.empty:
        return "any", False
    if annotation in _PLAIN_TYPES:
        return _PLAIN_TYPES[annotation], False
    if typing.get_origin(annotation) in (list, dict):
        return _PLAIN_TYPES[typing.get_origin(annotation)], False
    args = _non_none_args(annotation)
    if args is not None and len(args) == 1:
        return _param_type(args[0], what)[0], True
    shown = getattr(annotation, "__name__", None) or repr(annotation)
    raise DefinitionError(f"The {what} has type {shown}; a parameter must be str, int, float, bool, "
                          "list, dict (optionally | None), Input, Output or unannotated.")
