"""Values shown in error sentences are cut short, so a huge value is never echoed back whole."""
from durapipe.core.errors import SHOWN_CHARS, shown
from durapipe.core.names import check_id


def test_a_short_value_is_shown_as_its_repr():
    assert shown("run-1") == "'run-1'" and shown([1, 2]) == "[1, 2]"


def test_a_long_value_is_cut_to_the_limit_and_an_ellipsis():
    text = shown(list(range(100_000)))
    assert len(text) == SHOWN_CHARS + 1 and text.endswith("…") and text.startswith("[0, 1, 2")


def test_a_value_too_deep_for_repr_is_named_not_raised():
    value: list = []
    for _ in range(100_000):
        value = [value]
    assert shown(value) == "<a list nested too deeply to show>"


def test_a_name_error_does_not_echo_a_huge_name():
    import pytest

    from durapipe.core.errors import InvalidNameError

    with pytest.raises(InvalidNameError) as refused:
        check_id("x" * 50_000)
    assert len(str(refused.value)) < 300
