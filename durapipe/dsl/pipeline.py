"""`@pipeline`: a function whose body wires steps together; built once into a PipelineSpec."""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any, Callable

from durapipe.dsl.builder import Builder, current_builder
from durapipe.dsl.callsite import function_location, user_location
from durapipe.dsl.refs import InputRef, Outputs, ParamRef
from durapipe.dsl.signature import read_signature
from durapipe.core.errors import DefinitionError, InvalidNameError, UsageError
from durapipe.core.names import check_name
from durapipe.model.spec import PipelineSpec


class Pipeline:
    """A pipeline: its inputs, parameters, and the spec its body builds."""

    def __init__(self, func: Callable, name: str | None = None) -> None:
        if not callable(func) or not hasattr(func, "__code__"):
            raise DefinitionError(f"@pipeline decorates a plain function, not {func!r} ({user_location()}).")
        functools.update_wrapper(self, func)
        self.func = func
        try:
            self.name = check_name(name if name is not None else func.__name__, "pipeline name")
        except InvalidNameError as exc:
            raise DefinitionError(f"{str(exc).rstrip('.')} ({function_location(func)}).") from None
        signature = read_signature(func, "pipeline", allow_outputs=False)
        self.inputs = signature.inputs
        self.params = signature.params
        self._spec: PipelineSpec | None = None
        self._building = False

    @property
    def spec(self) -> PipelineSpec:
        """The validated spec, built on first use by running the body once with placeholders."""
        if self._spec is None:
            if self._building:
                raise DefinitionError(f"Pipeline {self.name} uses itself ({user_location()}).")
            self._building = True
            try:
                self._spec = _build(self)
            finally:
                self._building = False
        return self._spec

    def __call__(self, *args: Any, **kwargs: Any) -> Outputs:
        """Inside another pipeline's body: inline this pipeline's steps and return its outputs."""
        builder = current_builder()
        where = user_location()
        if builder is None:
            raise UsageError(f"Pipeline {self.name} is run by durapipe (durapipe run file.py:{self.name}), "
                             f"not called ({where}); call it only inside another pipeline's body.")
        return builder.inline(self.spec, args, kwargs, where)

    def __repr__(self) -> str:
        return f"<durapipe pipeline {self.name}>"


def _build(pipeline: Pipeline) -> PipelineSpec:
    builder = Builder(pipeline.name)
    placeholders: dict[str, Any] = {n: InputRef(builder, n, s.optional) for n, s in pipeline.inputs.items()}
    placeholders.update({n: ParamRef(builder, n, s.type, s.nullable, None if s.required else s.default)
                         for n, s in pipeline.params.items()})
    with builder.active():
        result = pipeline.func(**placeholders)
    where = function_location(pipeline.func)
    outputs = builder.pipeline_outputs(result, where)
    if not builder.steps:
        raise DefinitionError(f"Pipeline {pipeline.name} ({where}) calls no steps.")
    params = {n: replace(s, iterated=builder.iterated[n]) if n in builder.iterated else s
              for n, s in pipeline.params.items()}
    spec = PipelineSpec(name=pipeline.name, inputs=dict(pipeline.inputs), params=params,
                        steps=tuple(builder.steps), outputs=outputs)
    # The DSL checks as it goes; reading the JSON back proves the spec is one the runtime accepts.
    return PipelineSpec.from_json(spec.to_json())


def pipeline(func: Callable | None = None, *, name: str | None = None) -> Any:
    """Declare a pipeline, as `@pipeline` or `@pipeline(name=...)`; its body is built here, at import."""
    if func is None:
        return lambda f: _declare(f, name)
    return _declare(func, name)


def _declare(func: Callable, name: str | None) -> Pipeline:
    declared = Pipeline(func, name)
    try:
        declared.spec
    except NameError:
        # A step defined further down the file: build on first use instead.
        pass
    return declared
