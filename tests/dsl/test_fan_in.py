"""Fan-in: a step input taking a list or dict of upstream outputs; list parameters iterated at definition time."""
from __future__ import annotations

import pytest

from durapipe import Input, Output, pipeline, step
from durapipe.core.errors import DefinitionError, UsageError
from durapipe.model.spec import PipelineSpec, resolve_params, step_params


@step
def fit(model: Output, C: float = 1.0) -> None:
    """Fit one model."""


@step
def select(models: Input, best: Output) -> None:
    """Pick the best model."""


def test_a_list_of_outputs_binds_one_flat_input_per_element_in_order():
    @pipeline
    def tune():
        return {"best": select(models=[fit(C=c).model for c in (0.1, 1.0)]).best}

    step_json = tune.spec.to_json()["steps"][2]
    assert step_json["inputs"] == {"models__0": {"step": "fit", "output": "model"},
                                   "models__1": {"step": "fit_2", "output": "model"}}
    assert step_json["fan_in"] == {"models": {"kind": "list", "items": {"0": "models__0", "1": "models__1"}}}
    assert tune.spec.step("select").upstream() == {"fit", "fit_2"}


def test_a_dict_of_outputs_keeps_its_keys():
    @pipeline
    def tune():
        return {"best": select(models={"small": fit(C=0.1).model, "big": fit(C=10.0).model}).best}

    assert tune.spec.to_json()["steps"][2]["fan_in"]["models"] == {
        "kind": "dict", "items": {"small": "models__small", "big": "models__big"}}


def test_a_spec_with_fan_in_reads_back_from_json():
    @pipeline
    def tune():
        return {"best": select(models=[fit(C=c).model for c in (0.1, 1.0)]).best}

    again = PipelineSpec.from_json(tune.spec.to_json())
    assert again.to_json() == tune.spec.to_json()


def test_a_spec_without_fan_in_has_no_fan_in_field():
    @pipeline
    def one():
        return {"model": fit().model}

    assert "fan_in" not in one.spec.to_json()["steps"][0]


def test_a_dict_key_that_is_not_a_name_is_refused_at_the_call():
    with pytest.raises(DefinitionError, match="key 'a b' is not a name"):
        @pipeline
        def tune():
            return {"best": select(models={"a b": fit().model}).best}


def test_a_list_element_that_is_not_an_output_is_refused():
    with pytest.raises(DefinitionError, match=r"input \"models\[0\]\" of step select|models\[0\]"):
        @pipeline
        def tune():
            return {"best": select(models=["model.pkl"]).best}


def test_iterating_a_list_parameter_makes_one_branch_per_default_element():
    @pipeline
    def tune(Cs: list = [0.1, 1.0, 10.0]):
        return {"best": select(models=[fit(C=C).model for C in Cs]).best}

    spec = tune.spec
    assert [s.name for s in spec.steps] == ["fit", "fit_2", "fit_3", "select"]
    assert spec.to_json()["steps"][1]["params"]["C"] == {"param": "Cs", "index": 1}
    assert spec.to_json()["params"]["Cs"]["iterated"] == 3
    assert step_params(spec.step("fit_3").to_json(), resolve_params(spec, {"Cs": [1, 2, 30.0]})) == {"C": 30.0}


def test_a_run_value_of_another_length_than_the_iterated_default_is_refused():
    @pipeline
    def tune(Cs: list = [0.1, 1.0]):
        return {"best": select(models=[fit(C=C).model for C in Cs]).best}

    with pytest.raises(UsageError, match="iterated over its 2 default values"):
        resolve_params(tune.spec, {"Cs": [1.0]})


def test_iterating_a_parameter_without_a_list_default_is_refused():
    with pytest.raises(DefinitionError, match="only a list parameter with a default can be iterated"):
        @pipeline
        def tune(Cs: list):
            return {"best": select(models=[fit(C=C).model for C in Cs]).best}

        tune.spec


def test_an_element_of_the_wrong_type_for_the_step_parameter_is_refused():
    with pytest.raises(DefinitionError, match="element 0 of pipeline parameter 'Cs'"):
        @pipeline
        def tune(Cs: list = ["big"]):
            return {"best": select(models=[fit(C=C).model for C in Cs]).best}

        tune.spec
