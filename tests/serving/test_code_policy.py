"""A served catalog carries the policy for the folders steps may come from; building one changes nothing else."""
from __future__ import annotations

import sys

import pytest

from durapipe.core.errors import UsageError
from durapipe.engine.request import build_run_request, check_run_request
from durapipe.serving.service import served_catalog

FLOWS = '''
from durapipe import Output, pipeline, step


@step
def greet(out: Output) -> None:
    out.write_text("hello")


@pipeline
def {name}() -> dict:
    return {{"out": greet().out}}
'''


def _project(root, name):
    root.mkdir()
    (root / "pyproject.toml").write_text(f'[tool.durapipe]\ndefinitions = "defs_{name}:defs"\n')
    (root / f"flows_{name}.py").write_text(FLOWS.format(name=name))
    (root / f"defs_{name}.py").write_text(f"from flows_{name} import {name}\nfrom durapipe import Definitions\n"
                                          f"defs = Definitions(pipelines=[{name}])\n")
    return root


@pytest.fixture
def two_projects(tmp_path, monkeypatch):
    monkeypatch.delenv("DURAPIPE_DEFINITIONS", raising=False)
    yield _project(tmp_path / "first", "policy_first"), _project(tmp_path / "second", "policy_second")
    for name in ("defs_policy_first", "flows_policy_first", "defs_policy_second", "flows_policy_second"):
        sys.modules.pop(name, None)


def _request(catalog, code_root):
    served = catalog.get(catalog.names()[0])
    return build_run_request(served.spec_json(), {}, {}, run_id="policy-1", code_root=str(code_root),
                             trigger={"kind": "http"})


def test_each_served_catalog_allows_only_its_own_pipelines_folder(two_projects):
    first_root, second_root = two_projects
    first, second = served_catalog(first_root, env={}), served_catalog(second_root, env={})
    check_run_request(_request(first, first_root), code=first.code_policy)
    check_run_request(_request(second, second_root), code=second.code_policy)
    with pytest.raises(UsageError, match="code root"):
        check_run_request(_request(first, second_root), code=first.code_policy)
    with pytest.raises(UsageError, match="code root"):
        check_run_request(_request(second, first_root), code=second.code_policy)


def test_building_a_served_catalog_leaves_the_library_called_directly_accepting_any_folder(two_projects, tmp_path):
    first_root, _ = two_projects
    first = served_catalog(first_root, env={})
    check_run_request(_request(first, tmp_path / "anywhere"))


def test_an_app_with_no_definitions_serves_no_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    catalog = served_catalog(tmp_path / "empty", env={})
    assert catalog.names() == [] and catalog.code_policy.served == frozenset()
