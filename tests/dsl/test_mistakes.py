"""Wiring mistakes in a pipeline body: each is a DefinitionError naming the file, line and culprit."""
from __future__ import annotations

import pytest

from durapipe import Input, Output, pipeline
from durapipe.core.errors import DefinitionError
from tests.dsl.support import assert_points_at, evaluate, fit, needs_seed, prepare, score


def refused(body) -> str:
    """Declare a pipeline with `body` and return the DefinitionError's message."""
    with pytest.raises(DefinitionError) as err:
        pipeline(body)
    return str(err.value)


def test_unknown_keyword_names_it_and_lists_what_the_step_has():
    def p(raw: Input):
        fit(trian=raw)  # unknown-kwarg

    message = refused(p)
    assert "step fit has no input or parameter named 'trian'" in message.lower()
    assert "it has: train, C" in message
    assert_points_at(message, "unknown-kwarg", __file__)


def test_missing_required_input_is_named():
    def p(raw: Input):
        fit(C=2.0)  # missing-input

    message = refused(p)
    assert "'train'" in message and "required" in message
    assert_points_at(message, "missing-input", __file__)


def test_missing_required_param_is_named():
    def p(raw: Input):
        needs_seed(data=raw)  # missing-param

    message = refused(p)
    assert "'seed'" in message and "required" in message
    assert_points_at(message, "missing-param", __file__)


def test_output_passed_as_keyword_is_refused():
    def p(raw: Input):
        fit(train=raw, model=raw)  # output-kwarg

    message = refused(p)
    assert "'model'" in message and "produced" in message
    assert_points_at(message, "output-kwarg", __file__)


def test_unknown_output_attribute_lists_the_outputs():
    def p(raw: Input):
        data = prepare(raw=raw)
        fit(train=data.training)  # unknown-output

    message = refused(p)
    assert "'training'" in message and "train, test" in message
    assert_points_at(message, "unknown-output", __file__)


def test_non_json_literal_param_is_refused():
    def p(raw: Input):
        needs_seed(data=raw, seed=1, tags={"a"})  # set-literal

    message = refused(p)
    assert "'tags'" in message and "JSON" in message
    assert_points_at(message, "set-literal", __file__)


def test_nan_literal_param_is_refused():
    def p(raw: Input):
        fit(train=raw, C=float("nan"))  # nan-literal

    message = refused(p)
    assert "'C'" in message and "finite" in message
    assert_points_at(message, "nan-literal", __file__)


def test_literal_of_wrong_type_is_refused():
    def p(raw: Input):
        fit(train=raw, C="strong")  # wrong-type

    message = refused(p)
    assert "'C'" in message and "expects a float" in message
    assert_points_at(message, "wrong-type", __file__)


def test_bool_is_not_accepted_for_an_int_param():
    def p(raw: Input):
        needs_seed(data=raw, seed=True)  # bool-for-int

    assert_points_at(refused(p), "bool-for-int", __file__)


def test_literal_path_for_an_input_is_refused():
    def p():
        fit(train="data/train.csv")  # path-literal

    message = refused(p)
    assert "'train'" in message and "pipeline input" in message
    assert_points_at(message, "path-literal", __file__)


def test_param_bound_to_an_input_slot_is_refused():
    def p(raw: Input, C: float = 1.0):
        fit(train=C)  # param-as-input

    message = refused(p)
    assert "pipeline parameter 'C'" in message
    assert_points_at(message, "param-as-input", __file__)


def test_output_bound_to_a_param_slot_is_refused():
    def p(raw: Input):
        fit(train=raw, C=prepare(raw=raw).train)  # output-as-param

    message = refused(p)
    assert "'C'" in message and "output prepare.train" in message
    assert_points_at(message, "output-as-param", __file__)


def test_param_inside_a_list_literal_is_refused():
    def p(raw: Input, seed: int = 1):
        needs_seed(data=raw, seed=1, tags=[seed])  # param-in-list

    message = refused(p)
    assert "'seed'" in message and "whole" in message
    assert_points_at(message, "param-in-list", __file__)


def test_param_of_incompatible_type_is_refused():
    def p(raw: Input, name: str = "x"):
        fit(train=raw, C=name)  # str-param-to-float

    message = refused(p)
    assert "'name'" in message and "float" in message
    assert_points_at(message, "str-param-to-float", __file__)


def test_optional_pipeline_input_to_required_step_input_is_refused():
    def p(raw: Input | None = None):
        fit(train=raw)  # optional-to-required

    message = refused(p)
    assert "'raw'" in message and "optional" in message
    assert_points_at(message, "optional-to-required", __file__)


def test_positional_arguments_are_refused():
    def p(raw: Input):
        fit(raw)  # positional

    assert_points_at(refused(p), "positional", __file__)


def test_several_output_call_passed_whole_is_refused():
    def p(raw: Input):
        fit(train=prepare(raw=raw))  # several-outputs

    message = refused(p)
    assert "train, test" in message
    assert_points_at(message, "several-outputs", __file__)


def test_output_from_another_pipeline_is_refused():
    leaked = []

    def first(raw: Input):
        leaked.append(fit(train=raw).model)

    pipeline(first)

    def second(raw: Input):
        evaluate(model=leaked[0])  # leaked-ref

    message = refused(second)
    assert "another pipeline" in message
    assert_points_at(message, "leaked-ref", __file__)


def test_duplicate_alias_is_refused():
    def p(raw: Input):
        fit.alias("big")(train=raw)
        fit.alias("big")(train=raw)  # duplicate-alias

    message = refused(p)
    assert "'big'" in message
    assert_points_at(message, "duplicate-alias", __file__)


def test_map_over_an_unknown_input_is_refused():
    def p(model: Input, batches: Input):
        score.map("batches", model=model, batch=batches)  # map-unknown

    message = refused(p)
    assert "'batches'" in message and "model, batch" in message
    assert_points_at(message, "map-unknown", __file__)


def test_map_over_an_unbound_input_is_refused():
    def p(model: Input, holdout: Input):
        evaluate.map("test", model=model)  # map-unbound

    message = refused(p)
    assert "'test'" in message
    assert_points_at(message, "map-unbound", __file__)


def test_returning_a_pipeline_input_as_output_is_refused():
    def p(raw: Input):
        fit(train=raw)
        return {"raw": raw}

    assert "pipeline input 'raw'" in refused(p)


def test_invalid_output_name_is_refused():
    def p(raw: Input):
        return {"../model": fit(train=raw).model}

    assert "'../model'" in refused(p)


def test_pipeline_without_steps_is_refused():
    def p(raw: Input):
        return None

    assert "calls no steps" in refused(p)


def test_output_annotation_on_a_pipeline_is_refused():
    def p(raw: Input, out: Output):
        fit(train=raw)

    assert "'out'" in refused(p)


def test_invalid_pipeline_name_is_refused():
    with pytest.raises(DefinitionError, match="not valid"):
        pipeline(name="bad name")(lambda: None)
