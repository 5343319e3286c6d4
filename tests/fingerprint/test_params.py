"""Canonical parameters and declared parameter types."""
from __future__ import annotations

import math

import pytest

from durapipe.core.canonical import canonical_json
from durapipe.core.errors import DefinitionError, UsageError
from durapipe.fingerprint.params import canonical_params, coerce_param


def test_key_order_does_not_matter():
    one = canonical_params({"a": 1, "b": {"y": 2, "x": [1, 2]}})
    two = canonical_params({"b": {"x": [1, 2], "y": 2}, "a": 1})
    assert canonical_json(one) == canonical_json(two)


def test_int_float_and_bool_stay_distinct():
    encodings = {canonical_json(canonical_params({"C": value})) for value in (1, 1.0, True)}
    assert len(encodings) == 3


def test_tuples_become_lists():
    assert canonical_params({"shape": (1, (2, 3))}) == {"shape": [1, [2, 3]]}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected_naming_the_parameter(value):
    with pytest.raises(UsageError, match="'C'"):
        canonical_params({"C": value})


def test_a_non_json_value_deep_inside_is_rejected_naming_where():
    with pytest.raises(UsageError, match=r"'grid'.*grid\['alpha'\]\[1\]"):
        canonical_params({"grid": {"alpha": [1, {2, 3}]}})


def test_non_string_dict_keys_are_rejected():
    with pytest.raises(UsageError, match="'grid'"):
        canonical_params({"grid": {1: "a"}})


def test_the_error_class_can_be_a_definition_error():
    with pytest.raises(DefinitionError):
        canonical_params({"C": object()}, error=DefinitionError)


def test_a_value_containing_itself_is_rejected():
    loop: list = []
    loop.append(loop)
    with pytest.raises(UsageError, match="'loop'"):
        canonical_params({"loop": loop})


def test_an_int_is_accepted_as_a_float():
    value = coerce_param("C", 1, "float")
    assert value == 1.0 and isinstance(value, float)


def test_a_bool_is_not_a_number():
    with pytest.raises(UsageError, match=r"'C' expects a float, got True \(bool\)"):
        coerce_param("C", True, "float")
    with pytest.raises(UsageError, match="expects an int"):
        coerce_param("n", False, "int")


def test_a_float_is_not_an_int():
    with pytest.raises(UsageError, match=r"'n' expects an int, got 1.5"):
        coerce_param("n", 1.5, "int")


def test_any_accepts_every_json_value():
    assert coerce_param("x", {"a": (1, None)}, "any") == {"a": [1, None]}


def test_an_unknown_declared_type_is_a_definition_error():
    with pytest.raises(DefinitionError, match="'x' declares the type 'tuple'"):
        coerce_param("x", (1,), "tuple")


@pytest.mark.parametrize(
    ("type_name", "value"), [("str", "a"), ("int", 3), ("bool", False), ("list", [1]), ("dict", {"a": 1})]
)
def test_values_of_the_declared_type_pass_unchanged(type_name, value):
    assert coerce_param("p", value, type_name) == value
