"""Placeholders in a pipeline body can be wired but not computed with."""
from __future__ import annotations

import pytest

from durapipe import Input, pipeline
from durapipe.core.errors import DefinitionError
from tests.dsl.support import assert_points_at, fit


def refused(body) -> str:
    """Declare a pipeline with `body` and return the DefinitionError's message."""
    with pytest.raises(DefinitionError) as err:
        pipeline(body)
    return str(err.value)


def test_arithmetic_on_a_param_is_refused_with_an_explanation():
    def p(raw: Input, C: float = 1.0):
        fit(train=raw, C=C * 2)  # param-arith

    message = refused(p)
    assert "pipeline parameter 'C'" in message and "only wires steps" in message
    assert_points_at(message, "param-arith", __file__)


def test_branching_on_a_param_is_refused():
    def p(raw: Input, big: bool = False):
        if big:  # param-bool
            fit(train=raw)

    assert_points_at(refused(p), "param-bool", __file__)


def test_comparing_a_param_is_refused():
    def p(raw: Input, C: float = 1.0):
        fit(train=raw, C=1.0 if C == 2 else 3.0)  # param-eq

    assert_points_at(refused(p), "param-eq", __file__)


def test_formatting_an_output_is_refused():
    def p(raw: Input):
        f"{fit(train=raw).model}"  # output-format

    message = refused(p)
    assert "output fit.model" in message
    assert_points_at(message, "output-format", __file__)


def test_iterating_an_input_is_refused():
    def p(raw: Input):
        for _ in raw:  # input-iter
            pass

    assert "pipeline input 'raw'" in refused(p)
