"""`durapipe.sweep`: one trial of a step per configuration, and the best trial's outputs.

Inside a pipeline body, `sweep(fit, grid={"C": [0.1, 1, 10]}, metric="mae", direction="min",
train=data.train)` adds one ordinary, fingerprinted step per configuration (`fit_trial_1`, ...;
independent, so they run in parallel, and changing one configuration re-runs one trial) and a
`fit_best` step that reads what each trial logged with `durapipe.log_metric` and copies the
best trial's outputs. It returns those outputs (`best.model`), plus `trials`: a JSON file of
every trial's configuration and metrics.
"""
from __future__ import annotations

import functools
import itertools
import json
import math
import random as random_module
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from durapipe.dsl.builder import current_builder
from durapipe.dsl.callsite import user_location
from durapipe.dsl.refs import OutputRef, Outputs
from durapipe.dsl.step import Step
from durapipe.dsl.tracking import log_metric
from durapipe.core.errors import DefinitionError
from durapipe.model.spec import Binding, ParamBinding, StepOptions, StepSpec

METRICS_OUTPUT = "sweep_metrics"
MAX_TRIALS = 1000


def configurations(grid: dict[str, list] | None, random: dict[str, Any] | None, trials: int | None,
                   seed: int) -> list[dict[str, Any]]:
    """The trial configurations: every combination of `grid`, or `trials` draws from `random` with `seed`."""
    if (grid is None) == (random is None):
        raise DefinitionError("sweep takes exactly one of grid= or random=.")
    if grid is not None:
        if not isinstance(grid, dict) or not grid or not all(isinstance(v, list) and v for v in grid.values()):
            raise DefinitionError("sweep grid= must map each parameter to a non-empty list of values.")
        names = list(grid)
        found = [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]
    else:
        if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
            raise DefinitionError("sweep random= needs trials=, a whole number of trials from 1.")
        if not isinstance(random, dict) or not random:
            raise DefinitionError("sweep random= must map each parameter to a list of choices or a (low, high) pair.")
        draw = random_module.Random(seed)
        found = [{name: _draw(draw, name, space) for name, space in random.items()} for _ in range(trials)]
    if len(found) > MAX_TRIALS:
        raise DefinitionError(f"sweep makes {len(found)} trials; the limit is {MAX_TRIALS}.")
    return found


def _draw(draw: random_module.Random, name: str, space: Any) -> Any:
    if isinstance(space, list) and space:
        return draw.choice(space)
    if isinstance(space, tuple) and len(space) == 2 and all(isinstance(v, (int, float)) for v in space):
        low, high = space
        if isinstance(low, int) and isinstance(high, int):
            return draw.randint(low, high)
        return draw.uniform(float(low), float(high))
    raise DefinitionError(f"sweep random= gives {name!r} {space!r}; give a list of choices or a (low, high) pair.")


def sweep(step: Step, grid: dict[str, list] | None = None, *, metric: str, direction: str = "min",
          random: dict[str, Any] | None = None, trials: int | None = None, seed: int = 0,
          **bindings: Any) -> Outputs:
    """In a pipeline body: one trial of `step` per configuration; return the best trial's outputs and `trials`."""
    where = user_location()
    builder = current_builder()
    if builder is None:
        raise DefinitionError(f"durapipe.sweep is only for pipeline bodies ({where}).")
    if not isinstance(step, Step):
        raise DefinitionError(f"durapipe.sweep takes a @step, not {step!r} ({where}).")
    if direction not in ("min", "max"):
        raise DefinitionError(f"sweep direction= must be 'min' or 'max', not {direction!r} ({where}).")
    if not isinstance(metric, str) or not metric:
        raise DefinitionError(f"sweep metric= must name a metric the trials log with durapipe.log_metric ({where}).")
    if METRICS_OUTPUT in step.outputs:
        raise DefinitionError(f"Step {step.name} has an output named {METRICS_OUTPUT!r}, which sweep uses ({where}).")
    try:
        configs = configurations(grid, random, trials, seed)
    except DefinitionError as exc:
        raise DefinitionError(f"{str(exc).rstrip('.')} ({where}).") from None
    for name in configs[0]:
        if name not in step.params:
            raise DefinitionError(f"sweep varies {name!r}, which is not a parameter of step {step.name} ({where}); "
                                  f"its parameters are: {', '.join(step.params) or 'none'}.")
        if name in bindings:
            raise DefinitionError(f"sweep varies {name!r} and is also given it ({where}); give it in one place.")
    trial_names = []
    for number, config in enumerate(configs, start=1):
        trial = builder.add_step(step, (), {**bindings, **config}, f"{step.name}_trial_{number}", None, where)
        spec = builder.steps[-1]
        # The engine writes what the trial logged to this extra output; the step function never sees it.
        builder.steps[-1] = replace(spec, outputs=(*spec.outputs, METRICS_OUTPUT), metrics_output=METRICS_OUTPUT)
        trial_names.append(next(iter(trial._dp_refs.values())).step if trial._dp_refs else spec.name)
    keys = [f"t{n}" for n in range(1, len(configs) + 1)]
    inputs: dict[str, Binding] = {}
    fan_in: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    for group, output in [("metrics", METRICS_OUTPUT), *[(f"trial_{o}", o) for o in step.outputs]]:
        items = []
        for key, trial_name in zip(keys, trial_names):
            flat = f"{group}__{key}"
            inputs[flat] = Binding(name=output, step=trial_name)
            items.append((key, flat))
        fan_in[group] = ("dict", tuple(items))
    best_name = builder._unique_name(f"{step.name}_best", explicit=False, where=where)
    params = {"metric": ParamBinding(value=metric), "direction": ParamBinding(value=direction),
              "configs": ParamBinding(value=dict(zip(keys, configs))),
              "trial_steps": ParamBinding(value=dict(zip(keys, trial_names))),
              "outputs": ParamBinding(value=list(step.outputs))}
    builder.steps.append(StepSpec(name=best_name, ref=f"{__name__}:choose_best", inputs=inputs,
                                  outputs=(*step.outputs, "trials"), params=params, options=StepOptions(),
                                  fan_in=fan_in))
    return Outputs(f"sweep of {step.name}", {o: OutputRef(builder, best_name, o) for o in (*step.outputs, "trials")})


def _choose_best(**kwargs: Any) -> None:
    """Pick the trial with the best logged metric; copy its outputs; write every trial's configuration and metrics."""
    metric, direction = kwargs["metric"], kwargs["direction"]
    logged = {key: json.loads(Path(path).read_text()) for key, path in kwargs["metrics"].items()}
    missing = [kwargs["trial_steps"][k] for k, m in logged.items() if not isinstance(m.get(metric), (int, float))
               or not math.isfinite(m[metric])]
    if missing:
        raise ValueError(f"trial {missing[0]} logged no metric {metric!r}; call durapipe.log_metric({metric!r}, value) "
                         "in the swept step")
    order = sorted(logged, key=lambda k: logged[k][metric], reverse=direction == "max")
    best = order[0]
    # The run's metrics take a later step's value of a name: this step comes after every trial, so the
    # run shows the winner's metrics, not whichever trial happened to come last.
    for name, value in logged[best].items():
        log_metric(name, value)
    for output in kwargs["outputs"]:
        source, target = Path(kwargs[f"trial_{output}"][best]), Path(kwargs[output])
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    Path(kwargs["trials"]).write_text(json.dumps({
        "metric": metric, "direction": direction, "best": kwargs["trial_steps"][best],
        "trials": [{"step": kwargs["trial_steps"][k], "config": kwargs["configs"][k], "metrics": logged[k],
                    "best": k == best} for k in logged]}, indent=2, sort_keys=True))


def _engine_step(func: Any, name: str) -> Step:
    """A Step over `func` without reading its signature: its inputs and outputs are laid out by `sweep`."""
    made = Step.__new__(Step)
    functools.update_wrapper(made, func)
    made.func, made.ref, made.options, made._alias, made.name = func, f"{__name__}:{name}", StepOptions(), None, name
    made.inputs, made.outputs, made.params = {}, (), {}
    return made


choose_best = _engine_step(_choose_best, "choose_best")
