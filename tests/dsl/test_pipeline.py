"""@pipeline: how a body's step calls become a PipelineSpec."""
from __future__ import annotations

import pytest

from durapipe import Input, Output, Pipeline, pipeline, step
from durapipe.core.errors import DefinitionError, UsageError
from durapipe.model.spec import Binding, InputSpec, ParamBinding, ParamSpec
from tests.dsl.support import evaluate, fit, needs_seed, prepare, score


@pipeline
def retrain(raw: Input, C: float = 1.0):
    data = prepare(raw=raw)
    return {"model": fit(train=data.train, C=C).model}


def test_pipeline_records_inputs_and_params():
    assert isinstance(retrain, Pipeline)
    assert retrain.name == "retrain"
    assert retrain.inputs == {"raw": InputSpec()}
    assert retrain.params == {"C": ParamSpec(type="float", default=1.0)}


def test_steps_are_wired_to_pipeline_inputs_and_upstream_outputs():
    spec = retrain.spec
    assert [s.name for s in spec.steps] == ["prepare", "fit"]
    assert spec.step("prepare").inputs == {"raw": Binding("raw")}
    assert spec.step("fit").inputs == {"train": Binding("train", step="prepare")}


def test_step_params_hold_literals_bound_params_and_step_defaults():
    spec = retrain.spec
    assert spec.step("prepare").params == {"test_size": ParamBinding(value=0.2)}
    assert spec.step("fit").params == {"C": ParamBinding(param="C")}


def test_returned_dict_becomes_pipeline_outputs():
    assert retrain.spec.outputs == {"model": Binding("model", step="fit")}


def test_step_options_reach_the_spec():
    assert retrain.spec.step("fit").options.retries == 2


def test_spec_is_built_once_and_cached():
    assert retrain.spec is retrain.spec


def test_pipeline_name_can_be_given():
    @pipeline(name="nightly")
    def p(raw: Input):
        return fit(train=raw)

    assert p.name == "nightly" and p.spec.name == "nightly"


def test_single_returned_output_is_named_output():
    @pipeline
    def p(raw: Input):
        return fit(train=raw).model

    assert p.spec.outputs == {"output": Binding("model", step="fit")}


def test_one_output_step_call_can_be_passed_and_returned_whole():
    @pipeline
    def p(raw: Input):
        model = fit(train=raw)
        evaluate(model=model)
        return model

    assert p.spec.step("evaluate").inputs == {"model": Binding("model", step="fit")}
    assert p.spec.outputs == {"output": Binding("model", step="fit")}


def test_pipeline_returning_none_has_no_outputs():
    @pipeline
    def p(raw: Input):
        fit(train=raw)

    assert p.spec.outputs == {}


def test_same_step_twice_gets_numbered_names():
    @pipeline
    def p(raw: Input):
        fit(train=raw)
        fit(train=raw, C=2.0)
        fit(train=raw, C=3.0)

    assert [s.name for s in p.spec.steps] == ["fit", "fit_2", "fit_3"]


def test_alias_names_a_step_call():
    @pipeline
    def p(raw: Input):
        return fit.alias("fit_big")(train=raw, C=10.0).model

    assert [s.name for s in p.spec.steps] == ["fit_big"]
    assert p.spec.step("fit_big").ref == "tests.dsl.support:fit"


def test_optional_step_input_may_be_left_unbound():
    @pipeline
    def p(raw: Input):
        evaluate(model=fit(train=raw).model)

    assert p.spec.step("evaluate").inputs == {"model": Binding("model", step="fit")}


def test_optional_pipeline_input_binds_an_optional_step_input():
    @pipeline
    def p(raw: Input, holdout: Input | None = None):
        evaluate(model=fit(train=raw).model, test=holdout)

    assert p.spec.inputs["holdout"] == InputSpec(optional=True)
    assert p.spec.step("evaluate").inputs["test"] == Binding("holdout")


def test_int_literal_for_float_param_is_stored_as_float():
    @pipeline
    def p(raw: Input):
        fit(train=raw, C=2)

    value = p.spec.step("fit").params["C"].value
    assert value == 2.0 and isinstance(value, float)


def test_nested_pipeline_inlines_its_steps_with_deduplicated_names():
    @pipeline
    def outer(raw: Input, C: float = 1.0):
        first = fit(train=raw)
        inner = retrain(raw=first.model, C=C)
        return {"a": first.model, "b": inner.model}

    spec = outer.spec
    assert [s.name for s in spec.steps] == ["fit", "prepare", "fit_2"]
    assert spec.step("prepare").inputs == {"raw": Binding("model", step="fit")}
    assert spec.step("fit_2").inputs == {"train": Binding("train", step="prepare")}
    assert spec.step("fit_2").params == {"C": ParamBinding(param="C")}
    assert spec.outputs["b"] == Binding("model", step="fit_2")


def test_nested_pipeline_param_literal_replaces_the_binding():
    @pipeline
    def outer(raw: Input):
        return retrain(raw=raw, C=0.1).model

    assert outer.spec.step("fit").params == {"C": ParamBinding(value=0.1)}


def test_nested_pipeline_param_default_applies_when_not_given():
    @pipeline
    def outer(raw: Input):
        return retrain(raw=raw).model

    assert outer.spec.step("fit").params == {"C": ParamBinding(value=1.0)}


def test_mapped_step_records_the_input_it_maps_over():
    @pipeline
    def batch(model: Input, batches: Input):
        return score.map("batch", model=model, batch=batches).scores

    assert batch.spec.step("score").map == "batch"
    assert batch.spec.step("score").inputs["batch"] == Binding("batches")


def test_required_step_param_bound_to_pipeline_param():
    @pipeline
    def p(raw: Input, seed: int):
        needs_seed(data=raw, seed=seed)

    assert p.spec.params["seed"] == ParamSpec(type="int", required=True)
    assert p.spec.step("needs_seed").params["seed"] == ParamBinding(param="seed")


def test_int_pipeline_param_may_feed_a_float_step_param():
    @pipeline
    def p(raw: Input, C: int = 1):
        fit(train=raw, C=C)

    assert p.spec.step("fit").params["C"] == ParamBinding(param="C")


def test_pipeline_may_use_a_step_defined_later_in_the_file():

    @pipeline
    def p(raw: Input):
        return later(x=raw).y

    @step
    def later(x: Input, y: Output) -> None: ...

    assert [s.name for s in p.spec.steps] == ["later"]


def test_calling_pipeline_outside_a_pipeline_is_a_usage_error():
    with pytest.raises(UsageError, match="durapipe run"):
        retrain(raw=None)


def test_pipeline_using_itself_is_refused():
    with pytest.raises(DefinitionError, match="uses itself"):
        @pipeline
        def p(raw: Input):
            return p(raw=raw)

        p.spec
