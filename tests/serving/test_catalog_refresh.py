"""A served catalog serves the code on disk: an edited project module is loaded again when a run starts."""
from __future__ import annotations

import sys
import textwrap

import pytest

from durapipe.core.errors import DefinitionError
from durapipe.serving.service import served_catalog

FLOWS = '''
from helper import GREETING
from durapipe import Output, pipeline, step


@step
def greet(out: Output, who: str = "{default}") -> None:
    out.write_text(GREETING + who)


@pipeline
def hello(who: str = "{default}") -> dict:
    return {{"out": greet(who=who).out}}
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "defs_refresh:defs"\n')
    (root / "helper.py").write_text('GREETING = "hello "\n')
    (root / "flows_refresh.py").write_text(textwrap.dedent(FLOWS.format(default="world")))
    (root / "defs_refresh.py").write_text("from flows_refresh import hello\nfrom durapipe import Definitions\n"
                                          "defs = Definitions(pipelines=[hello])\n")
    monkeypatch.setenv("DURAPIPE_PROJECT_ROOT", str(root))
    monkeypatch.delenv("DURAPIPE_DEFINITIONS", raising=False)
    yield root
    for name in ("defs_refresh", "flows_refresh", "helper"):
        sys.modules.pop(name, None)


def _default(catalog) -> str:
    return catalog.get("hello").spec_json()["params"]["who"]["default"]


def test_an_unchanged_project_is_not_loaded_again(project):
    catalog = served_catalog(project)
    before = catalog.get("hello")
    assert catalog.refresh().get("hello") is before


def test_an_edited_pipeline_module_is_served_as_it_is_on_disk(project):
    catalog = served_catalog(project)
    version = catalog.get("hello").spec_json()["version"]
    (project / "flows_refresh.py").write_text(textwrap.dedent(FLOWS.format(default="there")))
    assert _default(catalog.refresh()) == "there"
    assert catalog.get("hello").spec_json()["version"] != version


def test_an_edited_helper_module_is_imported_again(project):
    catalog = served_catalog(project)
    (project / "helper.py").write_text('GREETING = "hi "\n')
    catalog.refresh()
    assert sys.modules["helper"].GREETING == "hi "


def test_code_that_no_longer_loads_is_refused_and_the_loaded_code_stays(project):
    catalog = served_catalog(project)
    (project / "flows_refresh.py").write_text("this is not python\n")
    with pytest.raises(DefinitionError, match="flows_refresh|defs_refresh"):
        catalog.refresh()
    assert _default(catalog) == "world"
