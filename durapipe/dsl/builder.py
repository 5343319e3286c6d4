"""Recording the step calls of a pipeline body into StepSpecs, checking each binding as it is made."""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Iterator

from durapipe.dsl.refs import InputRef, OutputRef, Outputs, ParamItemRef, ParamRef, Ref
from durapipe.core.errors import DefinitionError, InvalidNameError
from durapipe.core.names import check_name
from durapipe.model.spec import (Binding, InputSpec, ParamBinding, ParamSpec, PipelineSpec, StepSpec, coerce,
                           json_problem, type_problem)

if TYPE_CHECKING:
    from durapipe.dsl.step import Step

_current: ContextVar[Builder | None] = ContextVar("durapipe_builder", default=None)


def current_builder() -> Builder | None:
    """The builder of the pipeline body being run right now, or None outside any pipeline definition."""
    return _current.get()


class Builder:
    """Collects the steps of one pipeline definition, in call order (which is a topological order)."""

    def __init__(self, pipeline_name: str) -> None:
        self.pipeline_name = pipeline_name
        self.steps: list[StepSpec] = []
        self._names: set[str] = set()
        self.iterated: dict[str, int] = {}  # list parameters the body iterated, with their lengths

    @contextlib.contextmanager
    def active(self) -> Iterator[Builder]:
        """Make this the builder that step calls record into."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    # ------------------------------------------------------------ steps

    def add_step(self, step: Step, args: tuple, kwargs: dict, name: str | None, map_over: str | None,
                 where: str, error_threshold: int | float | None = None) -> Outputs:
        """Record one call of `step`; return its outputs as attributes."""
        label = f"step {name or step.name}"
        self._check_call(label, args, kwargs, step.inputs, step.params, step.outputs, where)
        inputs = {}
        fan_in: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
        for input_name, input_spec in step.inputs.items():
            value = kwargs.get(input_name)
            if isinstance(value, (list, tuple, dict)):
                if map_over == input_name:
                    raise DefinitionError(f"{label.capitalize()} cannot be mapped over {input_name!r} ({where}): "
                                          "it is given a list of outputs; map over one folder instead.")
                fan_in[input_name] = self._bind_fan_in(value, label, input_name, step.inputs, inputs, where)
                continue
            binding = self._bind_input(value, label, input_name, input_spec, where)
            if binding is not None:
                inputs[input_name] = binding
        params = self._bind_params(kwargs, label, step.params, where)
        if map_over is not None:
            self._check_map(label, map_over, step.inputs, kwargs, where)
        step_name = self._unique_name(name or step.name, explicit=name is not None, where=where)
        self.steps.append(StepSpec(name=step_name, ref=step.ref, inputs=inputs, outputs=step.outputs,
                                   params=params, options=step.options, map=map_over, fan_in=fan_in,
                                   error_threshold=error_threshold))
        return Outputs(f"step {step_name}", {o: OutputRef(self, step_name, o) for o in step.outputs})

    def _bind_fan_in(self, value: list | tuple | dict, label: str, name: str, declared: dict,
                     inputs: dict[str, Binding], where: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Bind a list (or dict) of outputs to one input: each element becomes the flat input `<name>__<key>`."""
        kind = "dict" if isinstance(value, dict) else "list"
        if kind == "dict":
            for key in value:
                if not isinstance(key, str) or check_name_quietly(key) is None:
                    raise DefinitionError(f"The input {name!r} of {label} is given a dict whose key {key!r} is not "
                                          f"a name ({where}); use keys such as 'logistic' or 'tree_3'.")
        items = []
        element = InputSpec(optional=False)
        for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
            flat = f"{name}__{key}"
            if flat in declared:
                raise DefinitionError(f"The input {name!r} of {label} cannot take a {kind} ({where}): the step also "
                                      f"has an input named {flat!r}.")
            binding = self._bind_input(item, label, f"{name}[{key!r}]", element, where)
            assert binding is not None
            inputs[flat] = binding
            items.append((str(key), flat))
        return kind, tuple(items)

    def _check_call(self, label: str, args: tuple, kwargs: dict, inputs: dict, params: dict,
                    outputs: tuple, where: str) -> None:
        if args:
            raise DefinitionError(f"Pass the inputs and parameters of {label} by name ({where}), "
                                  "as in fit(train=data.train).")
        for key in kwargs:
            if key in outputs:
                raise DefinitionError(f"{label.capitalize()} was given its output {key!r} ({where}); outputs are "
                                      "produced by the step, not passed to it: read them from the call's result.")
            if key not in inputs and key not in params:
                known = ", ".join([*inputs, *params]) or "nothing"
                raise DefinitionError(f"{label.capitalize()} has no input or parameter named {key!r} ({where}); "
                                      f"it has: {known}.")

    def _check_map(self, label: str, over: str, inputs: dict, kwargs: dict, where: str) -> None:
        if over not in inputs:
            known = ", ".join(inputs) or "none"
            raise DefinitionError(f"{label.capitalize()} cannot be mapped over {over!r} ({where}): "
                                  f"it is not one of its inputs ({known}).")
        value = kwargs.get(over)
        if value is None or (isinstance(value, InputRef) and value.optional):
            raise DefinitionError(f"{label.capitalize()} is mapped over input {over!r} ({where}), which must be "
                                  "bound to an upstream output or a required pipeline input.")

    def _bind_input(self, value: Any, label: str, name: str, spec: InputSpec, where: str) -> Binding | None:
        what = f"input {name!r} of {label}"
        if value is None:
            if spec.optional:
                return None
            raise DefinitionError(f"The {what} is required but not given ({where}).")
        if isinstance(value, Outputs):
            value = value.only_output(where)
        if isinstance(value, (InputRef, OutputRef)):
            self._check_own(value, what, where)
            if isinstance(value, InputRef):
                if value.optional and not spec.optional:
                    raise DefinitionError(f"The {what} is required but is bound to optional {value.describe()} "
                                          f"({where}); make one of them match.")
                return Binding(name=value.name)
            return Binding(name=value.name, step=value.step)
        shown = value.describe() if isinstance(value, Ref) else f"{type(value).__name__} {value!r}"
        raise DefinitionError(f"The {what} must be bound to an upstream step output or a pipeline input, "
                              f"not {shown} ({where}); files are given when the pipeline runs.")

    def _bind_params(self, kwargs: dict, label: str, specs: dict[str, ParamSpec], where: str) -> dict:
        params = {}
        for param_name, spec in specs.items():
            if param_name in kwargs:
                params[param_name] = self._bind_param(kwargs[param_name], label, param_name, spec, where)
            elif spec.required:
                raise DefinitionError(f"The parameter {param_name!r} of {label} is required but not given ({where}).")
            else:
                # Recorded so the step runs with known values without importing its code first.
                params[param_name] = ParamBinding(value=spec.default)
        return params

    def _bind_param(self, value: Any, label: str, name: str, spec: ParamSpec, where: str) -> ParamBinding:
        what = f"parameter {name!r} of {label}"
        if isinstance(value, ParamItemRef):
            self._check_own(value, what, where)
            problem = type_problem(value.default, spec.type, spec.nullable)
            if problem:
                raise DefinitionError(f"The {what} is bound to {value.describe()}, whose default {value.default!r} "
                                      f"{problem} ({where}).")
            return ParamBinding(param=value.name, index=value.index)
        if isinstance(value, ParamRef):
            self._check_own(value, what, where)
            if not _compatible(value, spec):
                shown = value.type + (" | None" if value.nullable else "")
                raise DefinitionError(f"The {what} expects {spec.type} but is bound to {value.describe()} of "
                                      f"type {shown} ({where}).")
            return ParamBinding(param=value.name)
        if isinstance(value, (Ref, Outputs)):
            raise DefinitionError(f"The {what} takes a JSON value or a pipeline parameter, not {_describe(value)} "
                                  f"({where}); files and folders go to inputs.")
        nested = _find_ref(value)
        if nested is not None:
            raise DefinitionError(f"The {what} contains {_describe(nested)} inside a {type(value).__name__} "
                                  f"({where}); a pipeline parameter can only be passed whole.")
        problem = json_problem(value)
        if problem:
            raise DefinitionError(f"The {what} is not JSON-serialisable ({where}): {problem}.")
        problem = type_problem(value, spec.type, spec.nullable)
        if problem:
            raise DefinitionError(f"The {what} {problem} ({where}).")
        return ParamBinding(value=coerce(value, spec.type))

    def _check_own(self, ref: Ref, what: str, where: str) -> None:
        if ref.builder is not self:
            raise DefinitionError(f"The {what} is bound to {ref.describe()} from another pipeline definition "
                                  f"({where}); a pipeline can only wire its own inputs, parameters and steps.")

    def _unique_name(self, base: str, explicit: bool, where: str) -> str:
        candidate, n = base, 1
        if not explicit:
            while candidate in self._names:
                n += 1
                candidate = f"{base}_{n}"
        elif candidate in self._names:
            raise DefinitionError(f"The step name {candidate!r} is already used in pipeline "
                                  f"{self.pipeline_name} ({where}); choose another alias.")
        try:
            check_name(candidate, "step name")
        except InvalidNameError as exc:
            raise DefinitionError(f"{str(exc).rstrip('.')} ({where}).") from None
        self._names.add(candidate)
        return candidate

    # ------------------------------------------------------------ nested pipelines

    def inline(self, sub: PipelineSpec, args: tuple, kwargs: dict, where: str) -> Outputs:
        """Copy the steps of pipeline `sub` into this one, wired to the given bindings."""
        label = f"pipeline {sub.name}"
        self._check_call(label, args, kwargs, sub.inputs, sub.params, (), where)
        inputs = {name: self._bind_input(kwargs.get(name), label, name, spec, where)
                  for name, spec in sub.inputs.items()}
        params = self._bind_params(kwargs, label, sub.params, where)
        renamed: dict[str, str] = {}
        for sub_step in sub.steps:
            renamed[sub_step.name] = self._unique_name(sub_step.name, explicit=False, where=where)
            step_inputs = {}
            for input_name, binding in sub_step.inputs.items():
                new = inputs[binding.name] if binding.step is None else Binding(binding.name, renamed[binding.step])
                if new is not None:  # an optional sub-pipeline input left unbound
                    step_inputs[input_name] = new
            step_params = {k: _inlined_param(b, params, where) for k, b in sub_step.params.items()}
            self.steps.append(StepSpec(name=renamed[sub_step.name], ref=sub_step.ref, inputs=step_inputs,
                                       outputs=sub_step.outputs, params=step_params, options=sub_step.options,
                                       map=sub_step.map, fan_in=sub_step.fan_in,
                                       error_threshold=sub_step.error_threshold))
        return Outputs(label, {name: OutputRef(self, renamed[b.step], b.name) for name, b in sub.outputs.items()})

    # ------------------------------------------------------------ the pipeline's result

    def pipeline_outputs(self, result: Any, where: str) -> dict[str, Binding]:
        """The pipeline's outputs from what its body returned: a dict of outputs, one output, or None."""
        if result is None:
            return {}
        if not isinstance(result, dict):
            result = {"output": result}
        outputs = {}
        for name, value in result.items():
            try:
                check_name(name, "pipeline output name")
            except InvalidNameError as exc:
                raise DefinitionError(f"{str(exc).rstrip('.')} ({where}).") from None
            if isinstance(value, Outputs):
                value = value.only_output(where)
            if not isinstance(value, OutputRef):
                raise DefinitionError(f"Pipeline {self.pipeline_name} returns {_describe(value)} as output "
                                      f"{name!r} ({where}); return step outputs: a dict of them, one, or None.")
            self._check_own(value, f"output {name!r} of pipeline {self.pipeline_name}", where)
            outputs[name] = Binding(name=value.name, step=value.step)
        return outputs


def _inlined_param(binding: ParamBinding, outer: dict[str, ParamBinding], where: str) -> ParamBinding:
    """A nested pipeline step's parameter binding, in terms of the calling pipeline's bindings."""
    if binding.param is None:
        return binding
    given = outer[binding.param]
    if binding.index is None:
        return given
    if given.param is None:
        return ParamBinding(value=given.value[binding.index])
    if given.index is not None:
        raise DefinitionError(f"An iterated list parameter is bound to an element of another ({where}); "
                              "pass a whole list parameter to a pipeline that iterates it.")
    return ParamBinding(param=given.param, index=binding.index)


def check_name_quietly(value: str) -> str | None:
    """`value` when it is a valid name, else None."""
    try:
        return check_name(value)
    except InvalidNameError:
        return None


def _compatible(ref: ParamRef, spec: ParamSpec) -> bool:
    if ref.nullable and not (spec.nullable or spec.type == "any"):
        return False
    if "any" in (ref.type, spec.type) or ref.type == spec.type:
        return True
    return ref.type == "int" and spec.type == "float"


def _find_ref(value: Any) -> Ref | Outputs | None:
    if isinstance(value, (Ref, Outputs)):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple, set)) else ()
    for item in items:
        found = _find_ref(item)
        if found is not None:
            return found
    return None


def _describe(value: Any) -> str:
    if isinstance(value, Ref):
        return value.describe()
    if isinstance(value, Outputs):
        return repr(value).strip("<>")
    return f"{type(value).__name__} {value!r}"
