"""`durapipe init`: the files of a new project, and a folder that is already in use."""
from __future__ import annotations

import sys

import pytest

from durapipe.core.errors import UsageError
from durapipe.core.paths import definitions_ref
from durapipe.deploy.new_project import pipeline_name_for, scaffold


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch, tmp_path):
    """Each test forgets the modules of the projects it made: their names (helpers, pipeline) are other tests' too."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def test_a_new_project_has_definitions_a_pipeline_with_a_helper_a_test_settings_and_deployment(tmp_path):
    project = tmp_path / "Churn-Model"
    written = {p.relative_to(project).as_posix() for p in scaffold(project)}
    assert {"pyproject.toml", "definitions.py", "pipeline.py", "helpers.py", "tests/test_pipeline.py",
            "local.settings.json.example", ".gitignore", "azure.yaml", "infra/main.bicep"} <= written
    assert definitions_ref(project, env={}) == "definitions:defs"
    assert ".durapipe/" in (project / ".gitignore").read_text().splitlines()
    assert "from helpers import" in (project / "pipeline.py").read_text()
    assert pipeline_name_for(project) == "churn_model"


def test_an_empty_existing_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    assert (tmp_path / "empty" / "definitions.py") in scaffold(tmp_path / "empty")


def test_a_folder_that_is_not_empty_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not an empty folder"):
        scaffold(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_loading_a_second_project_with_the_same_module_names_gets_its_own_definitions(tmp_path):
    from durapipe.load.project import load_definitions

    first, second = tmp_path / "alpha", tmp_path / "beta"
    scaffold(first)
    scaffold(second)
    assert list(load_definitions(first, "definitions:defs").pipelines) == ["alpha"]
    assert list(load_definitions(second, "definitions:defs").pipelines) == ["beta"]
    assert list(load_definitions(first, "definitions:defs").pipelines) == ["alpha"]
