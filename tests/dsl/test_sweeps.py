"""durapipe.sweep at definition time: configurations, trial steps and the best-trial step."""
from __future__ import annotations

import pytest

import durapipe
from durapipe import Output, pipeline, step
from durapipe.dsl.sweeps import configurations
from durapipe.core.errors import DefinitionError


@step
def fit(model: Output, C: float = 1.0, depth: int = 1) -> None:
    """Fit one model."""


def test_a_grid_makes_every_combination_in_order():
    assert configurations({"C": [1, 2], "depth": [3, 4]}, None, None, 0) == [
        {"C": 1, "depth": 3}, {"C": 1, "depth": 4}, {"C": 2, "depth": 3}, {"C": 2, "depth": 4}]


def test_random_draws_are_the_same_for_the_same_seed_and_stay_in_their_space():
    first = configurations(None, {"C": (0.1, 10.0), "depth": [1, 2, 3]}, 6, 7)
    assert first == configurations(None, {"C": (0.1, 10.0), "depth": [1, 2, 3]}, 6, 7)
    assert len(first) == 6 and all(0.1 <= c["C"] <= 10.0 and c["depth"] in (1, 2, 3) for c in first)
    assert first != configurations(None, {"C": (0.1, 10.0), "depth": [1, 2, 3]}, 6, 8)


def test_changing_one_random_seed_trial_count_keeps_the_earlier_draws():
    assert configurations(None, {"C": [1, 2, 3]}, 3, 1) == configurations(None, {"C": [1, 2, 3]}, 4, 1)[:3]


def test_a_sweep_adds_one_trial_step_per_configuration_and_a_best_step():
    @pipeline
    def tune():
        best = durapipe.sweep(fit, grid={"C": [0.1, 1.0]}, metric="mae", depth=3)
        return {"model": best.model, "trials": best.trials}

    steps = tune.spec.to_json()["steps"]
    assert [s["name"] for s in steps] == ["fit_trial_1", "fit_trial_2", "fit_best"]
    assert steps[1]["params"]["C"] == {"value": 1.0} and steps[1]["params"]["depth"] == {"value": 3}
    assert steps[0]["outputs"] == ["model", "sweep_metrics"] and steps[0]["metrics_output"] == "sweep_metrics"
    assert steps[2]["outputs"] == ["model", "trials"]
    assert set(steps[2]["fan_in"]) == {"metrics", "trial_model"}


@pytest.mark.parametrize("kwargs, needle", [
    ({"grid": {"gamma": [1]}, "metric": "mae"}, "not a parameter of step fit"),
    ({"grid": {"C": [1.0]}, "metric": "mae", "C": 2.0}, "also given it"),
    ({"grid": {"C": []}, "metric": "mae"}, "non-empty list"),
    ({"grid": {"C": [1.0]}, "metric": "mae", "direction": "up"}, "direction="),
    ({"random": {"C": [1.0]}, "metric": "mae"}, "trials="),
    ({"metric": "mae"}, "exactly one of grid= or random="),
])
def test_a_bad_sweep_is_refused_where_it_is_written(kwargs, needle):
    with pytest.raises(DefinitionError, match=needle):
        @pipeline
        def tune():
            return {"model": durapipe.sweep(fit, **kwargs).model}
