"""Placeholders a pipeline body wires with: pipeline inputs, parameters and step outputs."""
from __future__ import annotations

from typing import Any

from durapipe.dsl.callsite import user_location
from durapipe.core.errors import DefinitionError


class Ref:
    """A placeholder for a value that exists only when the pipeline runs; it can be wired, not used."""

    __slots__ = ("builder",)
    kind = "value"

    def __init__(self, builder: object) -> None:
        self.builder = builder

    def describe(self) -> str:
        """How the placeholder reads in an error message."""
        raise NotImplementedError

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise DefinitionError(
            f"{self.describe()} is a placeholder at {user_location()}: a pipeline body only wires "
            "steps together, so pass it to a step instead of computing with it (do that inside a step)."
        )

    # Every operation a user might try on a value: each one is a pipeline-body mistake.
    __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = __call__ = _refuse
    __int__ = __float__ = __index__ = __str__ = __format__ = __bytes__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse  # type: ignore[assignment]
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = __matmul__ = _refuse
    __neg__ = __pos__ = __abs__ = __invert__ = __and__ = __or__ = __xor__ = __round__ = _refuse
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


class InputRef(Ref):
    """A pipeline input, while the pipeline is being defined."""

    __slots__ = ("name", "optional")
    kind = "pipeline input"

    def __init__(self, builder: object, name: str, optional: bool) -> None:
        super().__init__(builder)
        self.name = name
        self.optional = optional

    def describe(self) -> str:
        return f"pipeline input {self.name!r}"


class ParamRef(Ref):
    """A pipeline parameter, while the pipeline is being defined."""

    __slots__ = ("name", "type", "nullable", "default")
    kind = "pipeline parameter"

    def __init__(self, builder: object, name: str, type_name: str, nullable: bool, default: Any = None) -> None:
        super().__init__(builder)
        self.name = name
        self.type = type_name
        self.nullable = nullable
        self.default = default

    def describe(self) -> str:
        return f"pipeline parameter {self.name!r}"

    def __iter__(self) -> Any:
        """A list parameter with a default iterates over its elements: the graph has one branch per element."""
        if not isinstance(self.default, list):
            raise DefinitionError(
                f"{self.describe()} is iterated at {user_location()}, but only a list parameter with a default "
                "can be iterated when the pipeline is defined (one branch per default element).")
        self.builder.iterated[self.name] = len(self.default)  # type: ignore[attr-defined]
        return iter([ParamItemRef(self.builder, self.name, i, self.default[i]) for i in range(len(self.default))])


class ParamItemRef(Ref):
    """One element of a list pipeline parameter iterated while the pipeline is being defined."""

    __slots__ = ("name", "index", "default")
    kind = "pipeline parameter element"

    def __init__(self, builder: object, name: str, index: int, default: Any) -> None:
        super().__init__(builder)
        self.name = name
        self.index = index
        self.default = default

    def describe(self) -> str:
        return f"element {self.index} of pipeline parameter {self.name!r}"


class OutputRef(Ref):
    """One output of one step, while the pipeline is being defined."""

    __slots__ = ("step", "name")
    kind = "step output"

    def __init__(self, builder: object, step: str, name: str) -> None:
        super().__init__(builder)
        self.step = step
        self.name = name

    def describe(self) -> str:
        return f"output {self.step}.{self.name}"


class Outputs:
    """What a step call (or a nested pipeline) returns: its outputs, read as attributes."""

    __slots__ = ("_dp_label", "_dp_refs")

    def __init__(self, label: str, refs: dict[str, OutputRef]) -> None:
        object.__setattr__(self, "_dp_label", label)
        object.__setattr__(self, "_dp_refs", refs)

    def __getattr__(self, name: str) -> OutputRef:
        refs = self._dp_refs
        if name in refs:
            return refs[name]
        if name.startswith("__"):
            raise AttributeError(name)
        available = ", ".join(refs) or "none"
        raise DefinitionError(f"{self._dp_label} has no output named {name!r} ({user_location()}); "
                              f"its outputs are: {available}.")

    def __setattr__(self, name: str, value: Any) -> None:
        raise DefinitionError(f"{self._dp_label}'s outputs cannot be assigned ({user_location()}).")

    def only_output(self, where: str) -> OutputRef:
        """The single output, for passing a one-output step call directly; raise when there are several."""
        refs = self._dp_refs
        if len(refs) == 1:
            return next(iter(refs.values()))
        names = ", ".join(refs) or "none"
        raise DefinitionError(f"{self._dp_label} has {len(refs)} outputs ({names}), so pick one by "
                              f"attribute, as in result.{next(iter(refs), 'output')} ({where}).")

    def __repr__(self) -> str:
        return f"<outputs of {self._dp_label}: {', '.join(self._dp_refs)}>"
