"""`durapipe.partition()`: which partition a mapped step runs, named by the step execution's environment."""
from pathlib import Path

import pytest

import durapipe
from durapipe.core.errors import UsageError
from durapipe.dsl.partition import Partition, input_path, partition_variables


def test_outside_a_mapped_step_it_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("DURAPIPE_PARTITION_KEY", raising=False)
    with pytest.raises(UsageError, match="only inside a mapped step"):
        durapipe.partition()


def test_inside_a_mapped_step_it_names_the_file_and_its_key(monkeypatch):
    for name, value in partition_variables("image", {"name": "2026/cat.jpg", "ref": {}}).items():
        monkeypatch.setenv(name, value)
    assert durapipe.partition() == Partition(name="cat.jpg", key="2026/cat.jpg")


def test_the_mapped_input_is_placed_under_its_files_name_and_the_others_as_before():
    variables = partition_variables("image", {"name": "2026/cat.jpg", "ref": {}})
    assert input_path(Path("in"), "image", variables) == Path("in/image/cat.jpg")
    assert input_path(Path("in"), "model", variables) == Path("in/model")
    assert input_path(Path("in"), "image", {}) == Path("in/image")
