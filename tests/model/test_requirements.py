"""`environment=` is read and checked where the step is declared."""
from __future__ import annotations

import pytest

from durapipe.core.errors import DefinitionError
from durapipe.model.requirements import read_requirements


def test_a_list_of_requirements_is_kept_as_written(tmp_path):
    assert read_requirements(["tomli-w==1.0.0", "six>=1.16"], tmp_path) == ("tomli-w==1.0.0", "six>=1.16")


def test_a_requirements_file_is_read_from_the_project_root_without_comments(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "train.txt").write_text("# training\ntomli-w==1.0.0  # writer\n\nsix\n")
    assert read_requirements("requirements/train.txt", tmp_path) == ("tomli-w==1.0.0", "six")


def test_a_missing_requirements_file_is_a_definition_error_naming_it(tmp_path):
    with pytest.raises(DefinitionError, match="no readable requirements file"):
        read_requirements("requirements/none.txt", tmp_path)


def test_a_file_outside_the_project_is_refused(tmp_path):
    with pytest.raises(DefinitionError, match="inside the project"):
        read_requirements("../elsewhere.txt", tmp_path)


def test_pip_options_are_refused(tmp_path):
    with pytest.raises(DefinitionError, match="pip options"):
        read_requirements(["--index-url=https://example.org/simple"], tmp_path)


def test_an_invalid_requirement_is_named(tmp_path):
    with pytest.raises(DefinitionError, match="'tomli-w=1' in environment= is not a valid requirement"):
        read_requirements(["tomli-w=1"], tmp_path)


def test_an_empty_list_is_refused(tmp_path):
    with pytest.raises(DefinitionError, match="lists no requirements"):
        read_requirements([], tmp_path)
