"""Loading pipelines by target, and the gate that resolves step references."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from durapipe import Definitions, Pipeline, Step  # Definitions: imported before any test, never forgotten by one
from durapipe.load import sys_path
from durapipe.core.errors import DefinitionError, SpecError, UsageError
from durapipe.load.targets import code_root_of, load_target, resolve_step

PIPELINE_FILE = """
from durapipe import Input, Output, pipeline, step
from helpers import SCALE


@step
def double(raw: Input, out: Output, factor: float = SCALE) -> None:
    out.write_text(raw.read_text() * 2)


def not_a_step():
    return "ran"


@pipeline
def {name}(raw: Input):
    return double(raw=raw).out
"""


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch):
    """Each test starts with no pipeline folders loaded and leaves sys.path and sys.modules as found."""
    monkeypatch.setattr(sys_path, "_file_roots", {})
    monkeypatch.setattr(sys_path, "_project_roots", {})
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def write_project(folder: Path, stem: str = "flows", name: str = "double_it", scale: str = "2.0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "helpers.py").write_text(f"SCALE = {scale}\n")
    path = folder / f"{stem}.py"
    path.write_text(PIPELINE_FILE.format(name=name))
    return path


def test_load_target_imports_a_file_with_a_sibling_module(tmp_path):
    path = write_project(tmp_path)
    found = load_target(f"{path}:double_it")
    assert isinstance(found, Pipeline) and found.name == "double_it"
    assert found.spec.step("double").ref == "flows:double"
    assert found.spec.step("double").params["factor"].value == 2.0


def test_code_root_of_a_file_pipeline_is_its_folder(tmp_path):
    path = write_project(tmp_path)
    assert code_root_of(load_target(f"{path}:double_it")) == tmp_path.resolve()


def test_code_root_of_a_package_module_is_above_the_package():
    found = load_target("tests.dsl.test_pipeline:retrain")
    assert code_root_of(found) == Path(__file__).resolve().parents[2]


def test_load_target_by_module_name():
    found = load_target("tests.dsl.test_pipeline:retrain")
    assert found.name == "retrain"


def test_same_file_name_in_another_folder_loads_the_other_file(tmp_path):
    first = write_project(tmp_path / "one", name="first", scale="1.0")
    second = write_project(tmp_path / "two", name="second", scale="3.0")
    load_target(f"{first}:first")
    found = load_target(f"{second}:second")
    assert found.spec.step("double").params["factor"].value == 3.0


def test_loading_the_same_file_twice_returns_the_same_pipeline(tmp_path):
    path = write_project(tmp_path)
    assert load_target(f"{path}:double_it") is load_target(f"{path}:double_it")


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_target(f"{tmp_path / 'nope.py'}:p")


def test_target_without_a_name_is_a_usage_error():
    with pytest.raises(UsageError, match="must look like"):
        load_target("pipelines/retrain.py")


def test_missing_attribute_lists_the_pipelines(tmp_path):
    path = write_project(tmp_path)
    with pytest.raises(UsageError, match="no attribute 'other'; its pipelines are: double_it"):
        load_target(f"{path}:other")


def test_attribute_that_is_not_a_pipeline_is_refused(tmp_path):
    path = write_project(tmp_path)
    with pytest.raises(UsageError, match="step double, not a durapipe pipeline"):
        load_target(f"{path}:double")


def test_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("x = 1\ndef oops(:\n")
    with pytest.raises(UsageError, match="broken.py has a syntax error at line 2"):
        load_target(f"{path}:p")


def test_exception_while_importing_is_named(tmp_path):
    path = tmp_path / "raises.py"
    path.write_text("raise RuntimeError('no data today')\n")
    with pytest.raises(UsageError, match="RuntimeError: no data today"):
        load_target(f"{path}:p")


def test_definition_error_in_the_file_keeps_its_location(tmp_path):
    path = tmp_path / "wrong.py"
    path.write_text(textwrap.dedent("""
        from durapipe import Input, Output, pipeline, step

        @step
        def fit(train: Input, model: Output) -> None: ...

        @pipeline
        def p(raw: Input):
            fit(trian=raw)
    """))
    with pytest.raises(DefinitionError, match=r"wrong.py:9\)"):
        load_target(f"{path}:p")


def test_file_named_like_an_imported_module_is_refused(tmp_path):
    path = tmp_path / "json.py"
    path.write_text("")
    with pytest.raises(UsageError, match="rename the file"):
        load_target(f"{path}:p")


def test_unknown_module_is_a_usage_error():
    with pytest.raises(UsageError, match="'no_such_module_xyz'"):
        load_target("no_such_module_xyz:p")


def test_resolve_step_returns_the_step():
    found = resolve_step("tests.dsl.support:fit", None)
    assert isinstance(found, Step) and found.name == "fit"


def test_resolve_step_imports_from_the_code_root(tmp_path):
    write_project(tmp_path, stem="rooted")
    assert resolve_step("rooted:double", str(tmp_path)).name == "double"


def test_resolve_step_refuses_a_standard_library_callable():
    with pytest.raises(SpecError, match="(?i)step reference 'os:system' does not name a durapipe step"):
        resolve_step("os:system", None)


def test_resolve_step_refuses_a_plain_function(tmp_path):
    write_project(tmp_path, stem="plain")
    with pytest.raises(SpecError, match="does not name a durapipe step"):
        resolve_step("plain:not_a_step", str(tmp_path))


def test_resolve_step_refuses_a_malformed_reference():
    with pytest.raises(SpecError, match="does not name a durapipe step"):
        resolve_step("tests.dsl.support:fit; rm -rf /", None)


def test_resolve_step_refuses_a_step_defined_inside_a_function():
    with pytest.raises(SpecError, match="inside a function"):
        resolve_step("tests.dsl.support:f.<locals>.g", None)


def test_resolve_step_reports_a_module_that_does_not_import():
    with pytest.raises(SpecError, match="does not import"):
        resolve_step("no_such_module_xyz:fit", None)


def test_a_pipeline_file_of_another_project_gets_its_own_helpers_after_a_projects_definitions(tmp_path):
    from durapipe.load.project import load_definitions

    first = tmp_path / "first"
    write_project(first, stem="flows", name="first_flow", scale="2.0")
    (first / "definitions.py").write_text("from durapipe import Definitions\nfrom flows import first_flow\n"
                                          "defs = Definitions(pipelines=[first_flow])\n")
    second = write_project(tmp_path / "second", stem="other_flows", name="second_flow", scale="3.0")

    assert list(load_definitions(first, "definitions:defs").pipelines) == ["first_flow"]
    found = load_target(f"{second}:second_flow")

    assert found.spec.step("double").params["factor"].value == 3.0  # its own helpers.py, not the first's


def test_a_projects_definitions_get_its_own_helpers_after_another_projects_pipeline_file(tmp_path):
    from durapipe.load.project import load_definitions

    first = write_project(tmp_path / "first", stem="flows", name="first_flow", scale="2.0")
    second = tmp_path / "second"
    write_project(second, stem="other_flows", name="second_flow", scale="3.0")
    (second / "definitions.py").write_text("from durapipe import Definitions\nfrom other_flows import second_flow\n"
                                           "defs = Definitions(pipelines=[second_flow])\n")

    assert load_target(f"{first}:first_flow").spec.step("double").params["factor"].value == 2.0
    defs = load_definitions(second, "definitions:defs")

    assert defs.pipelines["second_flow"].spec.step("double").params["factor"].value == 3.0
