"""The pipeline spec: a validated, JSON-serialisable plan of steps, and the pure helpers over it."""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

from durapipe.core.canonical import hash_value
from durapipe.core.errors import DefinitionError, InvalidNameError, SpecError, UsageError, shown
from durapipe.core.names import check_name
from durapipe.model.compute import parse_compute

SCHEMA_VERSION = 1
PARAM_TYPES = ("str", "int", "float", "bool", "list", "dict", "any")
# module:qualname; `<locals>` is accepted so steps defined inside functions (tests) can be described,
# though only a top-level step resolves when run (see durapipe.load.targets.resolve_step).
REF_PATTERN = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.([A-Za-z_]\w*|<locals>))*", re.ASCII)


# ---------------------------------------------------------------- JSON values and parameter types


# Deeper than this, a value is refused: every later walk over it (fingerprints, canonical JSON, the
# orchestrator's input) recurses, and no parameter a person writes nests past a few levels.
MAX_JSON_DEPTH = 100


def json_problem(value: Any) -> str | None:
    """Return why `value` is not a plain JSON value (finite numbers, str keys, at most MAX_JSON_DEPTH deep), or None.

    Walks without recursion, so a value of any depth gets a sentence, never a RecursionError.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if item is None or isinstance(item, (bool, int, str)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"{item!r} is not a finite number"
            continue
        if not isinstance(item, (list, tuple, dict)):
            return f"a {type(item).__name__} is not a JSON value"
        if depth >= MAX_JSON_DEPTH:
            return f"it is nested more than {MAX_JSON_DEPTH} lists or objects deep"
        if isinstance(item, dict):
            key = next((k for k in item if not isinstance(k, str)), None)
            if key is not None:
                return f"the dict key {shown(key)} is not a string"
            children = list(item.values())
        else:
            children = list(item)
        pending.extend((child, depth + 1) for child in reversed(children))  # first child first, as before
    return None


def to_plain_json(value: Any) -> Any:
    """Return `value` with tuples as lists, so equal values have one JSON form."""
    if isinstance(value, (list, tuple)):
        return [to_plain_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain_json(item) for key, item in value.items()}
    return value


def type_problem(value: Any, type_name: str, nullable: bool = False) -> str | None:
    """Return why `value` does not fit parameter type `type_name`, or None when it does."""
    if value is None and (nullable or type_name == "any"):
        return None
    fits = {
        "str": lambda v: isinstance(v, str),
        # bool is an int subclass in Python, but True is not a number a user meant.
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "list": lambda v: isinstance(v, (list, tuple)),
        "dict": lambda v: isinstance(v, dict),
        "any": lambda v: True,
    }[type_name]
    if fits(value):
        return None
    return f"expects {_article(type_name)} {type_name}, not {type(value).__name__} {shown(value)}"


def coerce(value: Any, type_name: str) -> Any:
    """Return `value` in the one JSON form its type uses (an int given for a float becomes a float)."""
    if type_name == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return to_plain_json(value)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


# ---------------------------------------------------------------- the dataclasses


@dataclass(frozen=True)
class StepOptions:
    """How a step runs: retries, timeout, caching; validated when created."""

    retries: int = 0
    retry_interval: float = 5.0
    timeout: float | None = None
    cache: bool = True
    version: str | None = None
    compute: str = "local"
    environment: tuple[str, ...] | None = None  # requirement lines; None: the app's own environment
    # What tracing cannot see, declared: project files or folders (relative to the project root) the
    # step's result depends on, and environment variables; both are hashed into its fingerprint.
    reads: tuple[str, ...] | None = None
    env: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise DefinitionError(f"retries must be a whole number of 0 or more, not {self.retries!r}.")
        if not _positive_number(self.retry_interval):
            raise DefinitionError(f"retry_interval must be a number of seconds above 0, not {self.retry_interval!r}.")
        if self.timeout is not None and not _positive_number(self.timeout):
            raise DefinitionError(f"timeout must be None or a number of seconds above 0, not {self.timeout!r}.")
        if not isinstance(self.cache, bool):
            raise DefinitionError(f"cache must be True or False, not {self.cache!r}.")
        if self.version is not None and (not isinstance(self.version, str) or not self.version.strip()):
            raise DefinitionError(f"version must be None or a non-empty string, not {self.version!r}.")
        parse_compute(self.compute)
        if self.environment is not None:
            if not isinstance(self.environment, (list, tuple)):
                raise DefinitionError(f"environment must be a list of requirement lines such as [\"numpy==2.1\"], "
                                      f"not {self.environment!r}.")
            from durapipe.model.requirements import check_requirements
            object.__setattr__(self, "environment", check_requirements(self.environment))
        if self.reads is not None:
            object.__setattr__(self, "reads", _declared_reads(self.reads))
        if self.env is not None:
            object.__setattr__(self, "env", _declared_env(self.env))
        # One JSON form per value: 5 and 5.0 would otherwise give two spec versions.
        object.__setattr__(self, "retry_interval", float(self.retry_interval))
        if self.timeout is not None:
            object.__setattr__(self, "timeout", float(self.timeout))

    def to_json(self) -> dict:
        """The options as the spec's JSON object."""
        options = {"retries": self.retries, "retry_interval": self.retry_interval, "timeout": self.timeout,
                   "cache": self.cache, "version": self.version, "compute": self.compute}
        if self.environment is not None:
            # Only when set, so the specs of steps without one stay as they were.
            options["environment"] = list(self.environment)
        # Likewise: a step that declares nothing keeps its spec, and its fingerprint.
        if self.reads:
            options["reads"] = list(self.reads)
        if self.env:
            options["env"] = list(self.env)
        return options


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _declared_reads(reads: Any) -> tuple[str, ...]:
    """`reads` as project-relative paths, sorted; a DefinitionError saying why when one is not."""
    if isinstance(reads, str) or not isinstance(reads, (list, tuple)):
        raise DefinitionError(f"reads must be a list of paths relative to the project root, such as "
                              f"[\"lookup/\", \"model.cfg\"], not {shown(reads)}.")
    paths = set()
    for path in reads:
        parts = path.replace("\\", "/").split("/") if isinstance(path, str) else []
        if (not isinstance(path, str) or not path.strip("/") or path.startswith(("/", "~")) or ":" in path
                or any(part in ("..", ".") for part in parts) or any(ord(c) < 32 for c in path)):
            raise DefinitionError(f"reads names {shown(path)}; each must be a file or folder inside the project, "
                                  "given relative to its root without '..', such as \"lookup/\" or \"model.cfg\".")
        paths.add("/".join(part for part in parts if part))
    return tuple(sorted(paths))


def _declared_env(names: Any) -> tuple[str, ...]:
    """`names` as environment variable names, sorted; a DefinitionError saying why when one is not."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise DefinitionError(f"env must be a list of environment variable names, such as [\"REGION\"], "
                              f"not {shown(names)}.")
    for name in names:
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise DefinitionError(f"env names {shown(name)}, which is not an environment variable name "
                                  "(letters, digits and '_', not starting with a digit).")
    return tuple(sorted(set(names)))


def _positive_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


class StepOptionsJSON(TypedDict):
    """A step's options as its spec JSON holds them, with every option present (see `step_options`)."""

    retries: int
    retry_interval: float
    timeout: float | None
    cache: bool
    version: str | None
    compute: str
    environment: list[str] | None  # None: the app's own environment
    reads: list[str] | None  # declared project files and folders the result depends on
    env: list[str] | None  # declared environment variables the result depends on


# Every option's default, from where they are declared: a spec (or history) written before an
# option existed does not hold it.
_OPTION_DEFAULTS: StepOptionsJSON = {**StepOptions().to_json(), "environment": None, "reads": None, "env": None}  # type: ignore[typeddict-item]


def step_options(step: dict[str, Any]) -> StepOptionsJSON:
    """The options of a step (its spec JSON, validated), with the default of each option it does not hold."""
    return {**_OPTION_DEFAULTS, **(step.get("options") or {})}  # type: ignore[typeddict-item]


@dataclass(frozen=True)
class InputSpec:
    """A pipeline input: a file or folder the run is given."""

    optional: bool = False

    def to_json(self) -> dict:
        """The input as the spec's JSON object."""
        return {"optional": self.optional}


@dataclass(frozen=True)
class ParamSpec:
    """A pipeline parameter: its type, and its default unless it is required."""

    type: str = "any"
    required: bool = False
    default: Any = None
    nullable: bool = False
    # A list parameter the pipeline body iterated (over its default): a run's value must have this length.
    iterated: int | None = None

    def to_json(self) -> dict:
        """The parameter as the spec's JSON object."""
        data: dict[str, Any] = {"type": self.type}
        if self.required:
            data["required"] = True
        else:
            data["default"] = self.default
        if self.nullable:
            data["nullable"] = True
        if self.iterated is not None:
            data["iterated"] = self.iterated
        return data


@dataclass(frozen=True)
class Binding:
    """Where a step input (or pipeline output) comes from: a pipeline input, or a step's output."""

    name: str
    step: str | None = None

    def to_json(self) -> dict:
        """`{"input": name}` or `{"step": step, "output": name}`."""
        return {"input": self.name} if self.step is None else {"step": self.step, "output": self.name}


@dataclass(frozen=True)
class ParamBinding:
    """A step parameter's value: a JSON literal, or the value of a pipeline parameter."""

    value: Any = None
    param: str | None = None
    index: int | None = None  # one element of a list parameter the pipeline body iterated

    def to_json(self) -> dict:
        """`{"value": v}`, `{"param": name}` or `{"param": name, "index": i}`."""
        if self.param is None:
            return {"value": self.value}
        return {"param": self.param} if self.index is None else {"param": self.param, "index": self.index}


@dataclass(frozen=True)
class StepSpec:
    """One step of a pipeline: the code it runs, where its inputs come from, its parameter values."""

    name: str
    ref: str
    inputs: dict[str, Binding] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    params: dict[str, ParamBinding] = field(default_factory=dict)
    options: StepOptions = field(default_factory=StepOptions)
    map: str | None = None
    # Inputs that take a list (or dict) of upstream outputs: name -> ("list"|"dict", ((key, flat input), ...)).
    # Each element is an ordinary input named `<name>__<key>`, so scheduling and fingerprints see flat inputs.
    fan_in: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=dict)
    # An output the engine fills with the metrics the step logged (a sweep trial's), never passed to the step.
    metrics_output: str | None = None
    # A mapped step: how many of its partitions may fail (a count, or a fraction of them as a float) with the
    # run still completing; None: any failed partition fails the step.
    error_threshold: int | float | None = None

    def upstream(self) -> set[str]:
        """Names of the steps whose outputs this step reads."""
        return {b.step for b in self.inputs.values() if b.step is not None}

    def to_json(self) -> dict:
        """The step as the spec's JSON object."""
        return {
            "name": self.name,
            "ref": self.ref,
            "inputs": {k: b.to_json() for k, b in self.inputs.items()},
            "outputs": list(self.outputs),
            "params": {k: b.to_json() for k, b in self.params.items()},
            "options": self.options.to_json(),
            "map": self.map,
            # Only when used, so the spec (and version) of every pipeline without fan-in is unchanged.
            **({"fan_in": {name: {"kind": kind, "items": dict(items)} for name, (kind, items) in self.fan_in.items()}}
               if self.fan_in else {}),
            **({"metrics_output": self.metrics_output} if self.metrics_output else {}),
            **({"error_threshold": self.error_threshold} if self.error_threshold is not None else {}),
        }


@dataclass(frozen=True)
class PipelineSpec:
    """A whole pipeline: inputs, parameters, steps and outputs; `version` is a hash of the rest."""

    name: str
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    params: dict[str, ParamSpec] = field(default_factory=dict)
    steps: tuple[StepSpec, ...] = ()
    outputs: dict[str, Binding] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """sha256 of the canonical spec JSON without its version field."""
        return self._json["version"]

    @functools.cached_property
    def _json(self) -> dict:
        # A spec is frozen once built, so its JSON and version hash are computed once.
        body = self._body()
        version = hash_value(body)
        return {"schema": body.pop("schema"), "name": body.pop("name"), "version": version, **body}

    def _body(self) -> dict:
        return {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "inputs": {k: v.to_json() for k, v in self.inputs.items()},
            "params": {k: v.to_json() for k, v in self.params.items()},
            "steps": [s.to_json() for s in self.steps],
            "outputs": {k: b.to_json() for k, b in self.outputs.items()},
        }

    def to_json(self) -> dict:
        """The spec as JSON (schema 1), with its version; a fresh copy the caller may change."""
        return json.loads(json.dumps(self._json))  # several times faster than deepcopy for plain JSON

    @classmethod
    def from_json(cls, data: dict | str) -> PipelineSpec:
        """Parse and validate a spec; raise SpecError with one sentence for the first problem."""
        try:
            key = data if isinstance(data, str) else json.dumps(data, sort_keys=True)
        except (TypeError, ValueError):
            return _read_spec(data)  # not plain JSON: reading it says what is wrong
        spec = _validated.get(key)
        if spec is None:
            spec = _read_spec(data)
            _keep(_validated, key, spec)
        return spec

    def step(self, name: str) -> StepSpec:
        """The step called `name`; raise SpecError when there is none."""
        for step_spec in self.steps:
            if step_spec.name == name:
                return step_spec
        raise SpecError(f"Pipeline {self.name} has no step named {name!r}.")

    def downstream(self, name: str) -> set[str]:
        """Names of every step that reads, directly or transitively, an output of step `name`."""
        self.step(name)
        readers: dict[str, set[str]] = {s.name: set() for s in self.steps}
        for step_spec in self.steps:
            for upstream in step_spec.upstream():
                readers[upstream].add(step_spec.name)
        found: set[str] = set()
        todo = [name]
        while todo:
            for reader in readers[todo.pop()]:
                if reader not in found:
                    found.add(reader)
                    todo.append(reader)
        return found


def topological_order(spec: PipelineSpec) -> list[str]:
    """Step names so that every step comes after the steps it reads from; ties keep spec order."""
    order, left = _kahn(spec.steps)
    if left:
        raise SpecError(f"Pipeline {spec.name} has a cycle of steps: {_describe_cycle(spec.steps, left)}.")
    return order


def _kahn(steps: tuple[StepSpec, ...]) -> tuple[list[str], set[str]]:
    pending = {s.name: set(s.upstream()) for s in steps}
    order: list[str] = []
    progress = True
    while pending and progress:
        progress = False
        for step_spec in steps:
            deps = pending.get(step_spec.name)
            if deps is not None and not deps & pending.keys():
                order.append(step_spec.name)
                del pending[step_spec.name]
                progress = True
    return order, set(pending)


def _describe_cycle(steps: tuple[StepSpec, ...], left: set[str]) -> str:
    by_name = {s.name: s for s in steps}
    path = [min(left)]
    while True:
        nxt = min(u for u in by_name[path[-1]].upstream() if u in left)
        if nxt in path:
            cycle = path[path.index(nxt):] + [nxt]
            # Print in data-flow direction: producer -> consumer.
            return " -> ".join(reversed(cycle))
        path.append(nxt)


# ---------------------------------------------------------------- run-time parameter helpers


def resolve_params(spec: PipelineSpec, given: dict) -> dict:
    """Return every pipeline parameter's value for a run: `given` checked and coerced, defaults filled."""
    unknown = sorted(set(given) - set(spec.params))
    if unknown:
        known = ", ".join(spec.params) or "none"
        raise UsageError(f"Pipeline {spec.name} has no parameter named {shown(unknown[0])}; it has: {known}.")
    resolved = {}
    for name, param in spec.params.items():
        if name not in given:
            if param.required:
                raise UsageError(f"Parameter {name!r} of pipeline {spec.name} is required.")
            resolved[name] = param.default
            continue
        value = given[name]
        problem = json_problem(value) or type_problem(value, param.type, param.nullable)
        if problem:
            raise UsageError(f"Parameter {name!r} of pipeline {spec.name} {_as_clause(problem)}.")
        if param.iterated is not None and (not isinstance(value, list) or len(value) != param.iterated):
            raise UsageError(f"Parameter {name!r} of pipeline {spec.name} was iterated over its {param.iterated} "
                             f"default values when the pipeline was defined, so it must be a list of "
                             f"{param.iterated} values.")
        resolved[name] = coerce(value, param.type)
    return resolved


def _as_clause(problem: str) -> str:
    return problem if problem.startswith("expects") else f"must be a JSON value: {problem}"


def step_params(step: dict[str, Any], run_params: dict[str, Any]) -> dict[str, Any]:
    """The concrete parameter values a step (its spec JSON) is called with, given the run's resolved params."""
    values: dict[str, Any] = {}
    for name, binding in step["params"].items():
        if "param" in binding:
            if binding["param"] not in run_params:
                raise UsageError(f"Run parameters have no value for pipeline parameter {binding['param']!r}.")
            values[name] = run_params[binding["param"]]
            if "index" in binding:  # one element of a list parameter iterated at definition time
                values[name] = values[name][binding["index"]]
        elif "value" in binding:
            values[name] = binding["value"]
        elif "default" in binding:
            values[name] = binding["default"]
    return values


# ---------------------------------------------------------------- reading and validating JSON

# Specs validated in this process, by their JSON text (a spec is immutable, and reading one is a
# pure function of its text): a CLI run validates the spec the DSL built, and planning it again
# in the same process, which for 1,000 steps is 60 ms each time.
_validated: dict[str, PipelineSpec] = {}
_VALIDATED_MAX = 8
# Spec texts known in this process to be valid specs, without their objects: those read here, and
# those of specs this process built or remembered (`trust_spec_text`). Checking one again is a lookup.
_valid_texts: dict[str, None] = {}


def spec_text(spec_json: dict) -> str:
    """A spec's JSON as the text a run request carries (`checked_spec_json` reads it back)."""
    return json.dumps(spec_json, separators=(",", ":"))


def trust_spec_text(text: str) -> None:
    """Take `text` as a valid spec in this process: only for the text of a spec built or read here.

    `run_request.orchestration_input` calls it for the spec of a request this process built: from a
    pipeline it imported, or from a definition it remembered (read when it was remembered, by this
    same reader: the definition cache's key holds the signature of this module).
    """
    _keep(_valid_texts, text, None)


def _keep(memo: dict[str, Any], key: str, value: Any) -> None:
    """Add `key` to one of this module's memos, forgetting the oldest past _VALIDATED_MAX entries."""
    memo[key] = value
    while len(memo) > _VALIDATED_MAX:
        memo.pop(next(iter(memo)))


def checked_spec_json(data: dict | str) -> dict:
    """`data` (a spec's JSON, or its text) as JSON, once known to be a valid spec; raises SpecError if it is not."""
    if isinstance(data, str):
        if data not in _valid_texts:
            PipelineSpec.from_json(data)
            trust_spec_text(data)
        return json.loads(data)
    PipelineSpec.from_json(data)
    return data


def params_view(spec_json: dict) -> PipelineSpec:
    """A spec holding only the name and parameters of `spec_json`, a spec known to be valid.

    Enough to resolve a run's parameters (`resolve_params`) without reading every step.
    """
    name = spec_json["name"]
    return PipelineSpec(name=name, params={k: _read_param(v, f"Pipeline {name} parameter {k!r}")
                                           for k, v in spec_json.get("params", {}).items()})


def _read_spec(data: dict | str) -> PipelineSpec:
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise SpecError(f"The spec is not valid JSON: {exc}.") from None
    obj = _obj(data, "The spec", {"schema", "name", "version", "inputs", "params", "steps", "outputs"})
    if "schema" not in obj:
        raise SpecError(f"The spec has no schema version; this durapipe reads version {SCHEMA_VERSION}.")
    if obj["schema"] != SCHEMA_VERSION or isinstance(obj["schema"], bool):
        raise SpecError(f"Spec schema version {obj['schema']} is not supported; this durapipe reads version {SCHEMA_VERSION}.")
    name = _name(obj.get("name"), "pipeline name")
    where = f"Pipeline {name}"
    inputs = {_name(k, f"input name in pipeline {name}"): _read_input(v, f"{where} input {k!r}")
              for k, v in _obj(obj.get("inputs", {}), f"{where} inputs").items()}
    params = {_name(k, f"parameter name in pipeline {name}"): _read_param(v, f"{where} parameter {k!r}")
              for k, v in _obj(obj.get("params", {}), f"{where} params").items()}
    raw_steps = obj.get("steps", [])
    if not isinstance(raw_steps, list):
        raise SpecError(f"{where} steps must be a list.")
    steps = tuple(_read_step(s, where) for s in raw_steps)
    outputs = {_name(k, f"output name in pipeline {name}"): _read_binding(v, f"{where} output {k!r}")
               for k, v in _obj(obj.get("outputs", {}), f"{where} outputs").items()}
    spec = PipelineSpec(name=name, inputs=inputs, params=params, steps=steps, outputs=outputs)
    _check_graph(spec)
    if "version" in obj and obj["version"] != spec.version:
        raise SpecError(f"{where} spec says version {obj['version']!r} but its content hashes to {spec.version!r}.")
    return spec


def _obj(value: Any, what: str, allowed: set[str] | None = None) -> dict:
    if not isinstance(value, dict):
        raise SpecError(f"{what} must be a JSON object, not {type(value).__name__}.")
    if allowed is not None:
        extra = sorted(set(value) - allowed)
        if extra:
            raise SpecError(f"{what} has an unknown field {extra[0]!r}.")
    return value


def _name(value: Any, what: str) -> str:
    try:
        return check_name(value, what)
    except InvalidNameError as exc:
        raise SpecError(str(exc)) from None


def _read_input(value: Any, what: str) -> InputSpec:
    obj = _obj(value, what, {"optional"})
    optional = obj.get("optional", False)
    if not isinstance(optional, bool):
        raise SpecError(f"{what} has 'optional' {optional!r}; it must be true or false.")
    return InputSpec(optional=optional)


def _read_param(value: Any, what: str) -> ParamSpec:
    obj = _obj(value, what, {"type", "default", "required", "nullable", "iterated"})
    type_name = obj.get("type", "any")
    if type_name not in PARAM_TYPES:
        raise SpecError(f"{what} has type {type_name!r}; use one of {', '.join(PARAM_TYPES)}.")
    nullable = obj.get("nullable", False)
    required = obj.get("required", False)
    if not isinstance(nullable, bool) or not isinstance(required, bool):
        raise SpecError(f"{what} has a 'required' or 'nullable' that is not true or false.")
    if required == ("default" in obj):
        raise SpecError(f"{what} must have either a default or \"required\": true.")
    default = obj.get("default")
    problem = None if required else (json_problem(default) or type_problem(default, type_name, nullable))
    if problem:
        raise SpecError(f"{what} default {_as_clause(problem)}.")
    iterated = obj.get("iterated")
    if iterated is not None and (isinstance(iterated, bool) or not isinstance(iterated, int) or iterated < 0):
        raise SpecError(f"{what} has an 'iterated' length that is not a whole number.")
    return ParamSpec(type=type_name, required=required, default=default, nullable=nullable, iterated=iterated)


def _read_binding(value: Any, what: str) -> Binding:
    obj = _obj(value, what)
    if set(obj) == {"input"}:
        return Binding(name=_name(obj["input"], f"input named by {what}"))
    if set(obj) == {"step", "output"}:
        return Binding(name=_name(obj["output"], f"output named by {what}"), step=_name(obj["step"], f"step named by {what}"))
    raise SpecError(f"{what} must be {{\"input\": name}} or {{\"step\": name, \"output\": name}}.")


def _read_param_binding(value: Any, what: str) -> ParamBinding:
    obj = _obj(value, what)
    if set(obj) == {"value"}:
        problem = json_problem(obj["value"])
        if problem:
            raise SpecError(f"{what} must be a JSON value: {problem}.")
        return ParamBinding(value=obj["value"])
    if set(obj) == {"param"}:
        return ParamBinding(param=_name(obj["param"], f"parameter named by {what}"))
    if set(obj) == {"param", "index"} and isinstance(obj["index"], int) and not isinstance(obj["index"], bool) \
            and obj["index"] >= 0:
        return ParamBinding(param=_name(obj["param"], f"parameter named by {what}"), index=obj["index"])
    raise SpecError(f"{what} must be {{\"value\": json}} or {{\"param\": name}}.")


def _read_step(value: Any, where: str) -> StepSpec:
    keys = {"name", "ref", "inputs", "outputs", "params", "options", "map", "fan_in", "metrics_output",
            "error_threshold"}
    obj = _obj(value, f"A step of {where.lower()}", keys)
    name = _name(obj.get("name"), "step name")
    what = f"Step {name}"
    ref = obj.get("ref")
    if not isinstance(ref, str) or not REF_PATTERN.fullmatch(ref):
        raise SpecError(f"{what} has ref {ref!r}; it must be 'module:qualname'.")
    inputs = {_name(k, f"input name of step {name}"): _read_binding(v, f"{what} input {k!r}")
              for k, v in _obj(obj.get("inputs", {}), f"{what} inputs").items()}
    raw_outputs = obj.get("outputs", [])
    if not isinstance(raw_outputs, list):
        raise SpecError(f"{what} outputs must be a list of names.")
    outputs = tuple(_name(o, f"output name of step {name}") for o in raw_outputs)
    if len(set(outputs)) != len(outputs):
        raise SpecError(f"{what} lists an output twice.")
    params = {_name(k, f"parameter name of step {name}"): _read_param_binding(v, f"{what} parameter {k!r}")
              for k, v in _obj(obj.get("params", {}), f"{what} params").items()}
    raw_options = _obj(obj.get("options", {}), f"{what} options", set(StepOptions.__dataclass_fields__))
    try:
        options = StepOptions(**raw_options)
    except DefinitionError as exc:
        raise SpecError(f"{what} has a bad option: {str(exc).rstrip('.')}.") from None
    map_over = obj.get("map")
    if map_over is not None and (not isinstance(map_over, str) or map_over not in inputs):
        raise SpecError(f"{what} is mapped over {map_over!r}, which is not one of its bound inputs.")
    fan_in = {}
    for group, raw in _obj(obj.get("fan_in", {}), f"{what} fan_in").items():
        entry = _obj(raw, f"{what} fan_in {group!r}", {"kind", "items"})
        items = _obj(entry.get("items", {}), f"{what} fan_in {group!r} items")
        if entry.get("kind") not in ("list", "dict") \
                or any(not isinstance(flat, str) or flat not in inputs for flat in items.values()):
            raise SpecError(f"{what} fan_in {group!r} must be a list or dict of the step's bound inputs.")
        fan_in[_name(group, f"fan-in input name of step {name}")] = (entry["kind"], tuple(items.items()))
    if map_over is not None and any(flat == map_over for _, items in fan_in.values() for _, flat in items):
        raise SpecError(f"{what} is mapped over {map_over!r}, which is part of a fan-in input.")
    metrics_output = obj.get("metrics_output")
    if metrics_output is not None and metrics_output not in outputs:
        raise SpecError(f"{what} names metrics_output {metrics_output!r}, which is not one of its outputs.")
    threshold = obj.get("error_threshold")
    if threshold is not None:
        if map_over is None:
            raise SpecError(f"{what} has an error_threshold but is not mapped; only a mapped step has partitions.")
        try:
            check_error_threshold(threshold)
        except DefinitionError as exc:
            raise SpecError(f"{what} has a bad option: {str(exc).rstrip('.')}.") from None
    return StepSpec(name=name, ref=ref, inputs=inputs, outputs=outputs, params=params, options=options, map=map_over,
                    fan_in=fan_in, metrics_output=metrics_output, error_threshold=threshold)


def check_error_threshold(value: Any) -> int | float:
    """A mapped step's error_threshold as given, when it is a whole number of 0 or more or a fraction from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, int) and value < 0) \
            or (isinstance(value, float) and not (math.isfinite(value) and 0.0 <= value <= 1.0)):
        raise DefinitionError(f"error_threshold must be a whole number of partitions (0 or more) or a fraction of "
                              f"them from 0.0 to 1.0, not {value!r}.")
    return value


def allowed_failures(threshold: int | float | None, total: int) -> int:
    """How many of `total` partitions may fail under `threshold`: a count as given, a fraction of them rounded down."""
    if threshold is None:
        return 0
    if isinstance(threshold, float):
        return math.floor(threshold * total + 1e-9)
    return int(threshold)


def _check_graph(spec: PipelineSpec) -> None:
    seen: dict[str, StepSpec] = {}
    for step_spec in spec.steps:
        if step_spec.name in seen:
            raise SpecError(f"Pipeline {spec.name} has two steps named {step_spec.name!r}.")
        seen[step_spec.name] = step_spec
    for step_spec in spec.steps:
        for input_name, binding in step_spec.inputs.items():
            _check_binding(spec, seen, binding, f"Step {step_spec.name} input {input_name!r}")
        for param_name, pbinding in step_spec.params.items():
            if pbinding.param is not None and pbinding.param not in spec.params:
                raise SpecError(f"Step {step_spec.name} parameter {param_name!r} is bound to "
                                f"unknown pipeline parameter {pbinding.param!r}.")
    for output_name, binding in spec.outputs.items():
        if binding.step is None:
            raise SpecError(f"Pipeline {spec.name} output {output_name!r} must come from a step output.")
        _check_binding(spec, seen, binding, f"Pipeline {spec.name} output {output_name!r}")
    topological_order(spec)


def _check_binding(spec: PipelineSpec, steps: dict[str, StepSpec], binding: Binding, what: str) -> None:
    if binding.step is None:
        if binding.name not in spec.inputs:
            raise SpecError(f"{what} is bound to unknown pipeline input {binding.name!r}.")
    elif binding.step not in steps:
        raise SpecError(f"{what} is bound to unknown step {binding.step!r}.")
    elif binding.name not in steps[binding.step].outputs:
        raise SpecError(f"{what} is bound to {binding.step}.{binding.name}, which step "
                        f"{binding.step} does not produce.")
