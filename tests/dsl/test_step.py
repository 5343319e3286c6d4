"""@step: what a step declares, and how it behaves outside a pipeline."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest

from durapipe import Input, Output, Step, step
from durapipe.core.errors import DefinitionError
from durapipe.model.spec import InputSpec, ParamSpec, StepOptions
from tests.dsl.support import assert_points_at, fit, prepare, score


def test_step_records_function_name_and_ref():
    assert isinstance(fit, Step)
    assert fit.name == "fit"
    assert fit.ref == "tests.dsl.support:fit"
    assert fit.func.__name__ == "fit"


def test_step_sorts_arguments_into_inputs_outputs_and_params():
    assert prepare.inputs == {"raw": InputSpec(optional=False)}
    assert prepare.outputs == ("train", "test")
    assert prepare.params == {"test_size": ParamSpec(type="float", default=0.2)}


def test_optional_input_and_nullable_param_are_recorded():
    assert score.params["note"] == ParamSpec(type="str", default=None, nullable=True)

    @step
    def evaluate(model: Input, report: Output, test: Input | None = None) -> None: ...

    assert evaluate.inputs["test"] == InputSpec(optional=True)


def test_parameter_without_default_is_required():
    @step
    def s(x: Input, seed: int) -> None: ...

    assert s.params["seed"].required


def test_unannotated_parameter_has_type_any_and_typing_generics_map_to_plain_types():
    @step
    def s(a=1, b: List[int] = [], c: Dict[str, float] = {}, d: list[str] = ["x"]) -> None: ...

    assert [s.params[k].type for k in "abcd"] == ["any", "list", "dict", "list"]


def test_bare_step_has_default_options():
    assert prepare.options == StepOptions()


def test_step_options_are_kept():
    assert fit.options.retries == 2


def test_calling_step_outside_pipeline_runs_the_function(tmp_path: Path):
    model = tmp_path / "model"
    result = fit(train=tmp_path / "train", model=model, C=3.0)
    assert result is None and model.read_text() == "model C=3.0"


def test_int_default_for_float_param_is_stored_as_float():
    @step
    def s(C: float = 1) -> None: ...

    assert s.params["C"].default == 1.0 and isinstance(s.params["C"].default, float)


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"retries": -1}, "retries"),
        ({"retries": 1.5}, "retries"),
        ({"retries": True}, "retries"),
        ({"retry_interval": 0}, "retry_interval"),
        ({"timeout": -3}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"cache": "yes"}, "cache"),
        ({"version": ""}, "version"),
        ({"compute": "gpu"}, "compute"),
        ({"compute": "azureml:"}, "azureml:CLUSTER"),
        ({"compute": "azureml:9gpu"}, "azureml:CLUSTER"),
        ({"compute": "azureml:gpu_cluster"}, "azureml:CLUSTER"),
        ({"compute": "azureml:a-cluster-name-too-long"}, "azureml:CLUSTER"),
    ],
)
def test_bad_option_is_refused_at_the_decorator_line(options, fragment):
    with pytest.raises(DefinitionError) as err:
        step(**options)  # bad-option
    assert fragment in str(err.value)
    assert_points_at(str(err.value), "bad-option", __file__)


def test_step_options_reject_bad_values_when_created_directly():
    with pytest.raises(DefinitionError, match="retries"):
        StepOptions(retries=-2)


def test_positional_option_is_refused():
    with pytest.raises(DefinitionError, match="by name"):
        step(2)


def test_non_json_default_is_refused_naming_the_def_line():
    with pytest.raises(DefinitionError) as err:
        @step
        def s(x: Input, classes: list = {1, 2}) -> None: ...  # set-default
    assert "'classes'" in str(err.value) and "set" in str(err.value)
    assert_points_at(str(err.value), "set-default", __file__)


def test_nan_default_is_refused():
    with pytest.raises(DefinitionError, match="finite"):
        @step
        def s(alpha: float = float("nan")) -> None: ...


def test_object_default_is_refused():
    with pytest.raises(DefinitionError, match="object"):
        @step
        def s(thing=object()) -> None: ...


def test_default_of_wrong_type_is_refused():
    with pytest.raises(DefinitionError, match="expects an int"):
        @step
        def s(n: int = "3") -> None: ...


def test_unsupported_parameter_type_is_refused():
    with pytest.raises(DefinitionError, match="type Path"):
        @step
        def s(where: Path = None) -> None: ...


def test_output_with_default_is_refused():
    with pytest.raises(DefinitionError, match="Output"):
        @step
        def s(out: Output = None) -> None: ...


def test_input_with_non_none_default_is_refused():
    with pytest.raises(DefinitionError, match="optional input"):
        @step
        def s(raw: Input = "data.csv") -> None: ...


def test_var_keyword_arguments_are_refused():
    with pytest.raises(DefinitionError, match=r"\*\*kwargs"):
        @step
        def s(**kwargs) -> None: ...


def test_invalid_step_name_is_refused():
    with pytest.raises(DefinitionError, match="not valid"):
        step(lambda: None)


def test_alias_with_invalid_name_is_refused():
    with pytest.raises(DefinitionError, match="not valid"):
        fit.alias("../etc")


def test_map_outside_a_pipeline_is_refused():
    with pytest.raises(DefinitionError, match="only for pipeline bodies"):
        score.map("batch", model=None, batch=None)


def test_an_environment_list_is_carried_by_the_spec_options():
    @step(environment=["tomli-w==1.0.0"])
    def writes(out: Output):
        pass

    assert writes.options.environment == ("tomli-w==1.0.0",)
    assert writes.options.to_json()["environment"] == ["tomli-w==1.0.0"]


def test_a_step_without_an_environment_keeps_its_spec_options_unchanged():
    @step
    def plain(out: Output):
        pass

    assert "environment" not in plain.options.to_json()


def test_a_bad_environment_is_reported_at_the_step_that_declares_it():
    with pytest.raises(DefinitionError, match=r"In @step at .*test_step.py:\d+: 'tomli-w=1' in environment="):
        @step(environment=["tomli-w=1"])
        def broken(out: Output):
            pass
