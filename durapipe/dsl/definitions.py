"""What a project serves: its pipelines, schedules, blob triggers and models, checked when declared.

A project declares one `Definitions` object; the function app is built from it. Every
declaration validates at the line that makes it, and names that line in its error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from durapipe.core.canonical import canonical_json, sha256_text
from durapipe.dsl.callsite import user_location
from durapipe.dsl.pipeline import Pipeline
from durapipe.core.errors import DefinitionError, DurapipeError
from durapipe.model.references import MODEL, check_reference, model_parts
from durapipe.model.spec import json_problem

_SETTING = re.compile(r"^%[A-Za-z_][A-Za-z0-9_]*%$")
_TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")
DEFAULT_BLOB_TRIES = 5
# Seconds a polled blob must stay unchanged before its run starts: a file copied into a folder store is
# listed while it is written, and two seconds of quiet mean the copy is done.
DEFAULT_SETTLE_WINDOW = 2.0
MAX_SETTLE_WINDOW = 3600.0
DIRECTIONS = ("max", "min")


def _fail(where: str, what: str, message: str) -> DefinitionError:
    return DefinitionError(f"{what} at {where}: {message}")


def _name(value: Any, what: str, where: str) -> str:
    from durapipe.core.names import check_name

    try:
        return check_name(value, f"{what} name")
    except DurapipeError as exc:
        raise _fail(where, what, str(exc)) from None


def _pipeline_of(value: Any, what: str, where: str) -> Pipeline | str:
    if isinstance(value, Pipeline):
        return value
    if isinstance(value, str):
        return _name(value, f"{what}'s pipeline", where)
    raise _fail(where, what, f"pipeline= must be a @pipeline or the name of one, not {value!r}.")


def _mapping(value: Any, what: str, field_name: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _fail(where, what, f"{field_name}= must be a dict with text keys, not {value!r}.")
    return dict(value)


def _check_params(params: dict[str, Any], what: str, where: str) -> None:
    for name, value in params.items():
        problem = json_problem(value)
        if problem:
            raise _fail(where, what, f"parameter {name!r} must be a JSON value: {problem}.")


def _check_input_refs(inputs: dict[str, Any], what: str, where: str) -> None:
    for name, value in inputs.items():
        try:
            check_reference(value, f"input {name!r}")
        except DurapipeError as exc:
            raise _fail(where, what, str(exc)) from None


def _resolved_setting(text: str) -> bool:
    return bool(_SETTING.match(text))


@dataclass(frozen=True, eq=False)
class Schedule:
    """Start `pipeline` on each tick of `cron` (six-field NCRONTAB, seconds first, UTC, or `%SETTING%`)."""

    name: str
    pipeline: Pipeline | str
    cron: str = "0 0 3 * * *"
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    publish: dict[str, str] = field(default_factory=dict)
    where: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = self.where or user_location()
        object.__setattr__(self, "where", where)
        _name(self.name, "Schedule", where)
        object.__setattr__(self, "publish", _publish(self.publish, f"Schedule {self.name}", where))
        object.__setattr__(self, "pipeline", _pipeline_of(self.pipeline, f"Schedule {self.name}", where))
        if not isinstance(self.cron, str):
            raise _fail(where, f"Schedule {self.name}", f"cron= must be text, not {self.cron!r}.")
        if not _resolved_setting(self.cron):
            from durapipe.model.schedule import parse_schedule

            try:
                object.__setattr__(self, "cron", parse_schedule(self.cron, f"Schedule {self.name}"))
            except DurapipeError as exc:
                raise _fail(where, f"Schedule {self.name}", str(exc)) from None
        object.__setattr__(self, "params", _mapping(self.params, f"Schedule {self.name}", "params", where))
        object.__setattr__(self, "inputs", _mapping(self.inputs, f"Schedule {self.name}", "inputs", where))
        _check_params(self.params, f"Schedule {self.name}", where)
        _check_input_refs(self.inputs, f"Schedule {self.name}", where)

    @property
    def setting(self) -> str | None:
        """The app setting that holds the cron expression (for `%SETTING%`), else None."""
        return self.cron.strip("%") if _resolved_setting(self.cron) else None

    def declaration(self) -> dict[str, Any]:
        """The schedule as JSON, for the definitions version."""
        return {"name": self.name, "pipeline": _pipeline_name(self.pipeline), "cron": self.cron,
                "params": self.params, "inputs": self.inputs, **({"publish": self.publish} if self.publish else {})}


@dataclass(frozen=True, eq=False)
class BlobTrigger:
    """Start `pipeline` when a blob arrives under `path` (which holds `{name}`), bound to its input `input`.

    `deliver` maps pipeline outputs to store keys written when the run completes; `{name}` in a
    key is the arrived blob's name. A run that fails is tried again up to `tries` times in all,
    `retry_interval` seconds apart, then the blob is recorded under `poison/`. With `register_data`,
    each arrival is registered as a version of that data asset and the run reads that version.
    A polled blob (the local host) starts its run only once unchanged for `settle_window` seconds.
    """

    name: str
    pipeline: Pipeline | str
    path: str = "incoming/{name}"
    input: str = "data"
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    deliver: dict[str, str] = field(default_factory=dict)
    tries: int = DEFAULT_BLOB_TRIES
    retry_interval: float = 30.0
    register_data: str | None = None
    publish: dict[str, str] = field(default_factory=dict)
    settle_window: float = DEFAULT_SETTLE_WINDOW
    where: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = self.where or user_location()
        object.__setattr__(self, "where", where)
        what = f"BlobTrigger {_name(self.name, 'BlobTrigger', where)}"
        if self.register_data is not None:
            _name(self.register_data, f"{what}'s register_data data asset", where)
        object.__setattr__(self, "publish", _publish(self.publish, what, where))
        object.__setattr__(self, "pipeline", _pipeline_of(self.pipeline, what, where))
        _check_path(self.path, what, where)
        if not isinstance(self.input, str) or not self.input:
            raise _fail(where, what, f"input= must name the pipeline input the blob is bound to, not {self.input!r}.")
        for attr in ("params", "inputs", "deliver"):
            object.__setattr__(self, attr, _mapping(getattr(self, attr), what, attr, where))
        _check_params(self.params, what, where)
        _check_input_refs(self.inputs, what, where)
        for output, key in self.deliver.items():
            _check_delivery(output, key, what, where)
        if isinstance(self.tries, bool) or not isinstance(self.tries, int) or not 1 <= self.tries <= 20:
            raise _fail(where, what, f"tries= must be a whole number from 1 to 20, not {self.tries!r}.")
        if isinstance(self.retry_interval, bool) or not isinstance(self.retry_interval, (int, float)) \
                or self.retry_interval < 0:
            raise _fail(where, what, f"retry_interval= must be a number of seconds, not {self.retry_interval!r}.")
        if isinstance(self.settle_window, bool) or not isinstance(self.settle_window, (int, float)) \
                or not 0 <= self.settle_window <= MAX_SETTLE_WINDOW:
            raise _fail(where, what, f"settle_window= must be a number of seconds from 0 to {MAX_SETTLE_WINDOW:g}, "
                                     f"not {self.settle_window!r}.")

    @property
    def prefix(self) -> str:
        """The part of `path` before `{name}`: the store prefix that is watched."""
        return self.path[:self.path.index("{name}")]

    def declaration(self) -> dict[str, Any]:
        """The trigger as JSON, for the definitions version."""
        return {"name": self.name, "pipeline": _pipeline_name(self.pipeline), "path": self.path,
                "input": self.input, "params": self.params, "inputs": self.inputs, "deliver": self.deliver,
                "tries": self.tries, "retry_interval": self.retry_interval,
                **({"register_data": self.register_data} if self.register_data else {}),
                **({"publish": self.publish} if self.publish else {}),
                # Only when set: a definitions version recorded before the option existed stays the same.
                **({"settle_window": self.settle_window} if self.settle_window != DEFAULT_SETTLE_WINDOW else {})}


@dataclass(frozen=True, eq=False)
class Model:
    """A model registry entry: runs of `pipeline` register their `output` as a new version of `name`.

    A version becomes champion when its `metric` (read from the JSON file output `metrics`, or with
    `metrics=None` from what the run's steps logged) beats the champion's in `direction` ("max" or
    "min") by more than `min_gain`.
    """

    name: str
    pipeline: Pipeline | str
    output: str = "model"
    metrics: str | None = "metrics"
    metric: str = ""
    direction: str = "max"
    min_gain: float = 0.0
    where: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        where = self.where or user_location()
        object.__setattr__(self, "where", where)
        what = f"Model {_name(self.name, 'Model', where)}"
        object.__setattr__(self, "pipeline", _pipeline_of(self.pipeline, what, where))
        for attr in ("output", "metrics"):
            if attr == "metrics" and self.metrics is None:
                continue  # the metrics the run's steps logged with durapipe.log_metric
            if not isinstance(getattr(self, attr), str) or not getattr(self, attr):
                raise _fail(where, what, f"{attr}= must be a name, not {getattr(self, attr)!r}.")
        if not isinstance(self.metric, str) or not self.metric:
            raise _fail(where, what, "metric= must name the metric that decides the champion, such as 'roc_auc'.")
        if self.direction not in DIRECTIONS:
            raise _fail(where, what, f"direction= must be 'max' or 'min', not {self.direction!r}.")
        if isinstance(self.min_gain, bool) or not isinstance(self.min_gain, (int, float)) or self.min_gain < 0:
            raise _fail(where, what, f"min_gain= must be a number of at least 0, not {self.min_gain!r}.")

    def policy(self) -> dict[str, Any]:
        """The registration policy as a run request carries it."""
        return {"model": self.name, "output": self.output, "metrics": self.metrics, "metric": self.metric,
                "direction": self.direction, "min_gain": float(self.min_gain)}

    def declaration(self) -> dict[str, Any]:
        """The model as JSON, for the definitions version."""
        return {"pipeline": _pipeline_name(self.pipeline), **self.policy()}


def _publish(value: Any, what: str, where: str) -> dict[str, str]:
    """`publish={OUTPUT: DATA_ASSET}`: outputs a completed run registers as data versions."""
    publish = _mapping(value, what, "publish", where)
    for output, asset in publish.items():
        _name(asset, f"{what}'s publish[{output!r}] data asset", where)
    return publish


def _pipeline_name(value: Pipeline | str) -> str:
    return value.name if isinstance(value, Pipeline) else value


def _check_path(path: Any, what: str, where: str) -> None:
    from durapipe.core.names import check_blob_name

    if not isinstance(path, str) or path.count("{name}") != 1:
        raise _fail(where, what, f"path= must hold {{name}} once, as in 'incoming/{{name}}', not {path!r}.")
    others = [f for f in _TEMPLATE_FIELD.findall(path) if f != "name"]
    if others:
        raise _fail(where, what, f"path= may hold only {{name}}, not {{{others[0]}}}.")
    try:
        check_blob_name(path.replace("{name}", "x"), "blob path")
    except DurapipeError as exc:
        raise _fail(where, what, str(exc)) from None
    if path.startswith("{name}"):
        raise _fail(where, what, f"path= must start with a prefix such as 'incoming/', not {path!r}.")


def _check_delivery(output: str, key: Any, what: str, where: str) -> None:
    from durapipe.store.keys import check_delivery_key

    if not isinstance(key, str):
        raise _fail(where, what, f"deliver[{output!r}] must be a store key such as 'scores/{{name}}', not {key!r}.")
    others = [f for f in _TEMPLATE_FIELD.findall(key) if f != "name"]
    if others:
        raise _fail(where, what, f"deliver[{output!r}] may hold only {{name}}, not {{{others[0]}}}.")
    try:
        check_delivery_key(key.replace("{name}", "x"))
    except DurapipeError as exc:
        raise _fail(where, what, str(exc)) from None


class Definitions:
    """Everything a project serves; checked as a whole when made (references between declarations)."""

    def __init__(self, pipelines: Iterable[Pipeline] = (), schedules: Iterable[Schedule] = (),
                 blob_triggers: Iterable[BlobTrigger] = (), models: Iterable[Model] = ()) -> None:
        where = user_location()
        self.where = where
        self.pipelines: dict[str, Pipeline] = {}
        for p in _list(pipelines, "pipelines", where):
            if not isinstance(p, Pipeline):
                raise _fail(where, "Definitions", f"pipelines= holds {p!r}, which is not a @pipeline.")
            if p.name in self.pipelines and self.pipelines[p.name] is not p:
                raise _fail(where, "Definitions", f"two pipelines are named {p.name!r}.")
            self.pipelines[p.name] = p
        self.schedules = _unique(_list(schedules, "schedules", where), Schedule, "schedules", where)
        self.blob_triggers = _unique(_list(blob_triggers, "blob_triggers", where), BlobTrigger, "blob_triggers", where)
        self.models = _unique(_list(models, "models", where), Model, "models", where)
        for declared in [*self.schedules.values(), *self.blob_triggers.values(), *self.models.values()]:
            self._bind(declared)
        for trigger in self.blob_triggers.values():
            self._check_trigger(trigger)
        for schedule in self.schedules.values():
            self._check_run(schedule, f"Schedule {schedule.name}", schedule.params, schedule.inputs)
        for declared in [*self.schedules.values(), *self.blob_triggers.values()]:
            spec = self.pipelines[_pipeline_name(declared.pipeline)].spec
            for output in declared.publish:
                if output not in spec.outputs:
                    raise _fail(declared.where, f"{type(declared).__name__} {declared.name}",
                                f"publish names {output!r}, which is not an output of pipeline {spec.name}; "
                                f"its outputs are: {', '.join(spec.outputs) or 'none'}.")
        for model in self.models.values():
            spec = self.pipelines[_pipeline_name(model.pipeline)].spec
            for attr in ("output", "metrics"):
                if getattr(model, attr) is not None and getattr(model, attr) not in spec.outputs:
                    raise _fail(model.where, f"Model {model.name}",
                                f"{attr}={getattr(model, attr)!r} is not an output of pipeline {spec.name}; "
                                f"its outputs are: {', '.join(spec.outputs) or 'none'}.")
        watched: dict[str, str] = {}
        for trigger in self.blob_triggers.values():
            for other, prefix in watched.items():
                if trigger.prefix.startswith(prefix) or prefix.startswith(trigger.prefix):
                    raise _fail(trigger.where, f"BlobTrigger {trigger.name}",
                                f"its path overlaps BlobTrigger {other}'s ({prefix!r}); one blob would start both.")
            watched[trigger.name] = trigger.prefix
        self._version: str | None = None

    def _bind(self, declared: Any) -> None:
        """Point a declaration naming a pipeline by text at the Pipeline; add a Pipeline it holds."""
        what = f"{type(declared).__name__} {declared.name}"
        if isinstance(declared.pipeline, Pipeline):
            known = self.pipelines.get(declared.pipeline.name)
            if known is None:
                self.pipelines[declared.pipeline.name] = declared.pipeline
            elif known is not declared.pipeline:
                raise _fail(declared.where, what, f"two pipelines are named {declared.pipeline.name!r}.")
        elif declared.pipeline not in self.pipelines:
            raise _fail(declared.where, what, f"there is no pipeline named {declared.pipeline!r} in these "
                                              f"definitions; they have: {', '.join(sorted(self.pipelines)) or 'none'}.")
        else:
            object.__setattr__(declared, "pipeline", self.pipelines[declared.pipeline])

    def _check_run(self, declared: Any, what: str, params: dict[str, Any], inputs: dict[str, Any]) -> None:
        from durapipe.model.spec import resolve_params

        spec = self.pipelines[_pipeline_name(declared.pipeline)].spec
        unknown = sorted(set(inputs) - set(spec.inputs))
        if unknown:
            raise _fail(declared.where, what, f"pipeline {spec.name} has no input named {unknown[0]!r}; "
                                              f"its inputs are: {', '.join(spec.inputs) or 'none'}.")
        try:
            resolve_params(spec, params)
        except DurapipeError as exc:
            raise _fail(declared.where, what, str(exc)) from None
        bound = set(inputs) | ({declared.input} if isinstance(declared, BlobTrigger) else set())
        unbound = [n for n, s in spec.inputs.items() if not s.optional and n not in bound]
        if unbound:
            raise _fail(declared.where, what, f"pipeline {spec.name} needs input {unbound[0]!r}, which is not bound; "
                                              f"give it in inputs= (unbound: {', '.join(unbound)}) as a blob name, "
                                              "'newest:PREFIX/', 'data:NAME' or 'model:NAME:champion'.")
        self._check_model_refs(declared, what, inputs)

    def _check_model_refs(self, declared: Any, what: str, inputs: dict[str, Any]) -> None:
        """A `model:NAME:...` input names a declared Model and one of its pipeline's outputs.

        Only when the definitions declare Models: a project without any registers its models by hand,
        and nothing here can know their names.
        """
        if not self.models:
            return
        for input_name, value in inputs.items():
            if not value.startswith(MODEL):
                continue
            name, _, output = model_parts(value, f"input {input_name!r}")
            model = self.models.get(name)
            if model is None:
                declared_models = ", ".join(sorted(self.models))
                raise _fail(declared.where, what, f"input {input_name!r} names model {name!r}, which no Model "
                                                  f"declares; the declared models are: {declared_models}.")
            outputs = self.pipelines[_pipeline_name(model.pipeline)].spec.outputs
            if output is not None and output not in outputs:
                raise _fail(declared.where, what, f"input {input_name!r} names output {output!r} of model {name}, "
                                                  f"which its pipeline {_pipeline_name(model.pipeline)} does not make; "
                                                  f"its outputs are: {', '.join(outputs)}.")

    def _check_trigger(self, trigger: BlobTrigger) -> None:
        what = f"BlobTrigger {trigger.name}"
        spec = self.pipelines[_pipeline_name(trigger.pipeline)].spec
        if trigger.input not in spec.inputs:
            raise _fail(trigger.where, what, f"input={trigger.input!r} is not an input of pipeline {spec.name}; "
                                             f"its inputs are: {', '.join(spec.inputs) or 'none'}.")
        if trigger.input in trigger.inputs:
            raise _fail(trigger.where, what, f"input {trigger.input!r} is bound to the arriving blob; "
                                             "do not give it in inputs= too.")
        mapped = next((s.name for s in spec.steps if s.map is not None and s.inputs[s.map].step is None
                       and s.inputs[s.map].name == trigger.input), None)
        if mapped is not None:
            raise _fail(trigger.where, what, f"input={trigger.input!r} is bound to one blob, but step {mapped} is "
                                             "mapped over it, which needs a folder.")
        self._check_run(trigger, what, trigger.params, trigger.inputs)
        for output in trigger.deliver:
            if output not in spec.outputs:
                raise _fail(trigger.where, what, f"deliver names {output!r}, which is not an output of pipeline "
                                                 f"{spec.name}; its outputs are: {', '.join(spec.outputs) or 'none'}.")

    def pipeline(self, name: str) -> Pipeline:
        """The served pipeline `name`; KeyError when there is none."""
        return self.pipelines[name]

    def model_of(self, pipeline: str) -> Model | None:
        """The model that runs of `pipeline` register, if one is declared."""
        return next((m for m in self.models.values() if _pipeline_name(m.pipeline) == pipeline), None)

    @property
    def version(self) -> str:
        """The hash of the pipelines' spec versions and every declaration: recorded in each run started from here."""
        if self._version is None:
            document = {
                "pipelines": {n: p.spec.to_json()["version"] for n, p in sorted(self.pipelines.items())},
                "schedules": [s.declaration() for s in self.schedules.values()],
                "blob_triggers": [t.declaration() for t in self.blob_triggers.values()],
                "models": [m.declaration() for m in self.models.values()],
            }
            self._version = sha256_text(canonical_json(document))
        return self._version

    def __repr__(self) -> str:
        return (f"<durapipe Definitions: {len(self.pipelines)} pipelines, {len(self.schedules)} schedules, "
                f"{len(self.blob_triggers)} blob triggers, {len(self.models)} models>")


def _list(value: Any, field_name: str, where: str) -> list[Any]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise _fail(where, "Definitions", f"{field_name}= must be a list, not {value!r}.")
    return list(value)


def _unique(items: list[Any], kind: type, field_name: str, where: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, kind):
            raise _fail(where, "Definitions", f"{field_name}= holds {item!r}, which is not a durapipe.{kind.__name__}.")
        if item.name in found:
            raise _fail(item.where, f"{kind.__name__} {item.name}", f"two {field_name} are named {item.name!r}.")
        found[item.name] = item
    return found
