"""Which code a step depends on: its own source, same-file names, project modules and packages."""
from __future__ import annotations

import sys
from importlib.metadata import version

from durapipe.fingerprint.code import code_components


def test_step_source_is_labelled_by_relative_path_and_qualname(project):
    assert "pipelines/retrain.py::a" in project.code("a").sources


def test_helper_imported_as_module_counts_only_for_the_step_that_names_it(project):
    assert "helpers.py" in project.code("a").sources
    assert "helpers.py" not in project.code("b").sources


def test_helper_imported_by_name_counts_only_for_the_step_that_names_it(project):
    assert "feature.py" in project.code("b").sources
    assert "feature.py" not in project.code("a").sources


def test_editing_an_imported_module_changes_only_the_step_using_it(project):
    a, b = project.code("a"), project.code("b")
    project.edit("helpers.py", "2 * x", "3 * x")
    assert project.code("a") != a
    assert project.code("b") == b


def test_editing_a_from_imported_module_changes_only_the_step_using_it(project):
    a, b = project.code("a"), project.code("b")
    project.edit("feature.py", "x / 10", "x / 100")
    assert project.code("b") != b
    assert project.code("a") == a


def test_a_change_deep_in_a_package_propagates_through_relative_imports(project):
    before = project.code("c")
    assert {"shop/__init__.py", "shop/util.py", "shop/deep.py"} <= set(before.sources)
    project.edit("shop/deep.py", "x - 1", "x - 2")
    assert project.code("c") != before


def test_editing_an_unrelated_module_changes_no_step(project):
    before = {name: project.code(name) for name in "abcde"}
    project.edit("unrelated.py", "return 0", "return 1")
    project.write("elsewhere.py", "VALUE = 1\n")
    assert {name: project.code(name) for name in "abcde"} == before


def test_editing_a_same_file_helper_changes_only_the_step_using_it(project):
    a, b = project.code("a"), project.code("b")
    project.edit("pipelines/retrain.py", "min(x, THRESHOLD)", "max(x, THRESHOLD)")
    assert project.code("a") != a
    assert project.code("b") == b


def test_same_file_names_are_followed_transitively(project):
    before = project.code("a")
    assert "pipelines/retrain.py::THRESHOLD" in before.sources
    project.edit("pipelines/retrain.py", "THRESHOLD = 3", "THRESHOLD = 4")
    assert project.code("a") != before


def test_decorator_options_do_not_change_the_code(project):
    before = project.code("a")
    project.edit("pipelines/retrain.py", "@step(retries=2)", "@step(retries=5, timeout=60)")
    assert project.code("a") == before


def test_a_comment_outside_the_step_does_not_change_the_code(project):
    before = {name: project.code(name) for name in "abcde"}
    project.edit("pipelines/retrain.py", "THRESHOLD = 3\n", "THRESHOLD = 3\n# tuned by hand in March\n")
    assert {name: project.code(name) for name in "abcde"} == before


def test_editing_the_step_body_changes_its_code(project):
    before = project.code("d")
    project.edit("pipelines/retrain.py", "json.dumps(x)", "json.dumps(x, indent=1)")
    assert project.code("d") != before


def test_third_party_modules_appear_as_packages_with_versions_not_as_source(project):
    info = project.code("e")
    assert info.packages == {"numpy": version("numpy"), "scikit-learn": version("scikit-learn")}
    assert set(info.sources) == {"pipelines/retrain.py::e"}


def test_standard_library_modules_contribute_nothing(project):
    info = project.code("d")
    assert info.packages == {}
    assert set(info.sources) == {"pipelines/retrain.py::d"}


def test_packages_are_collected_through_project_modules(project):
    project.write("feature.py", "import numpy\n\n\ndef scale(x):\n    return numpy.asarray(x) / 10\n")
    assert "numpy" in project.code("b").packages


def test_a_function_object_gives_the_same_components_as_its_path(project):
    module = project.load()
    assert code_components(module.a, project.root) == project.code("a")


def test_analysis_never_imports_or_runs_the_users_modules(project):
    marker = project.root / "ran.txt"
    project.write("boom.py", f"open({str(marker)!r}, 'w').close()\nraise RuntimeError('imported')\nX = 1\n")
    project.write("pipelines/explosive.py", "import boom\n\n\ndef f():\n    return boom.X\n")
    info = project.code("f", "pipelines/explosive.py")
    assert "boom.py" in info.sources
    assert not marker.exists()
    assert "boom" not in sys.modules


def test_a_module_outside_the_project_is_located_but_never_imported(project, tmp_path_factory, monkeypatch):
    outside = tmp_path_factory.mktemp("site")
    (outside / "outside_boom.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(outside))
    project.write("pipelines/uses_outside.py", "import outside_boom\n\n\ndef g():\n    return outside_boom\n")
    info = project.code("g", "pipelines/uses_outside.py")
    assert info.packages == {"outside_boom": "unknown"}
    assert "outside_boom" not in sys.modules


def test_an_import_inside_the_step_body_counts(project):
    project.write("pipelines/inner.py", "def g():\n    import helpers\n    return helpers.double(1)\n")
    assert "helpers.py" in project.code("g", "pipelines/inner.py").sources


def test_a_module_beside_the_pipeline_file_is_project_code(project):
    project.write("pipelines/local_helpers.py", "Y = 1\n")
    project.write("pipelines/near.py", "from local_helpers import Y\n\n\ndef g():\n    return Y\n")
    assert "pipelines/local_helpers.py" in project.code("g", "pipelines/near.py").sources


def test_a_local_variable_shadowing_a_module_name_does_not_pull_it_in(project):
    project.write("pipelines/shadow.py", "import helpers\n\n\ndef g(helpers):\n    return helpers\n")
    assert "helpers.py" not in project.code("g", "pipelines/shadow.py").sources


def test_a_method_reads_module_names_even_when_its_class_binds_the_same_name(project):
    source = "import helpers\n\n\nclass Model:\n    helpers = None\n\n    def fit(self):\n        return helpers.double(1)\n\n\ndef g():\n    return Model()\n"
    project.write("pipelines/classy.py", source)
    assert "helpers.py" in project.code("g", "pipelines/classy.py").sources


def test_a_comment_in_an_imported_module_does_not_change_the_code(project):
    before = project.code("a")
    project.edit("helpers.py", "def double(x):\n", "# doubles, as the March notebook did\ndef double(x):  # hot path\n")
    assert project.code("a") == before


def test_a_docstring_edit_in_an_imported_module_does_not_change_the_code(project):
    project.write("helpers.py", '"""Helpers."""\n\n\ndef double(x):\n    """Twice x."""\n    return 2 * x\n')
    before = project.code("a")
    project.write("helpers.py", '"""Helpers, documented better."""\n\n\ndef double(x):\n    """Return x times two."""\n    return 2 * x\n')
    assert project.code("a") == before


def test_a_whitespace_only_edit_does_not_change_the_code(project):
    before = project.code("a")
    project.write("helpers.py", "\n\ndef double( x ):\n\n    return 2*x\n\n\n")
    assert project.code("a") == before


def test_a_docstring_edit_of_the_step_itself_does_not_change_its_code(project):
    before = project.code("d")
    project.edit("pipelines/retrain.py", "def d(x):\n", 'def d(x):\n    """Serialise x."""\n')
    assert project.code("d") == before


def test_only_the_functions_a_step_reaches_in_an_imported_module_count(project):
    project.write("helpers.py", "def double(x):\n    return 2 * x\n\n\ndef triple(x):\n    return 3 * x\n")
    before = project.code("a")
    project.edit("helpers.py", "3 * x", "4 * x")
    assert project.code("a") == before


def test_a_constant_the_step_reaches_in_an_imported_module_counts(project):
    project.write("helpers.py", "FACTOR = 2\n\n\ndef double(x):\n    return FACTOR * x\n")
    before = project.code("a")
    project.edit("helpers.py", "FACTOR = 2", "FACTOR = 3")
    assert project.code("a") != before


def test_a_module_that_imports_an_edited_one_changes_only_steps_reaching_the_edit(project):
    project.write("utils.py", "import feature\n\n\ndef scaled(x):\n    return feature.scale(x)\n\n\n"
                              "def plain(x):\n    return x\n")
    project.write("pipelines/uses_utils.py", "import utils\n\n\ndef g(x):\n    return utils.plain(x)\n\n\n"
                                             "def h(x):\n    return utils.scaled(x)\n")
    g, h = project.code("g", "pipelines/uses_utils.py"), project.code("h", "pipelines/uses_utils.py")
    project.edit("feature.py", "x / 10", "x / 100")
    assert project.code("g", "pipelines/uses_utils.py") == g
    assert project.code("h", "pipelines/uses_utils.py") != h


def test_a_statement_run_when_an_imported_module_loads_counts(project):
    before = project.code("a")
    project.edit("helpers.py", "def double", "import random\nrandom.seed(1)\n\n\ndef double")
    assert project.code("a") != before


def test_a_module_used_as_a_value_counts_whole(project):
    project.write("helpers.py", "def double(x):\n    return 2 * x\n\n\ndef triple(x):\n    return 3 * x\n")
    project.write("pipelines/reflect.py", "import helpers\n\n\ndef g(name):\n    return getattr(helpers, name)(1)\n")
    before = project.code("g", "pipelines/reflect.py")
    project.edit("helpers.py", "3 * x", "4 * x")
    assert project.code("g", "pipelines/reflect.py") != before


def test_a_name_re_exported_by_a_package_is_followed_to_its_definition(project):
    project.write("shop/deep.py", "def depth(x):\n    return x - 1\n\n\ndef unused(x):\n    return x\n")
    before = project.code("c")
    assert "shop/deep.py::depth" in before.sources
    project.edit("shop/deep.py", "return x\n", "return x + 1\n")
    assert project.code("c") == before


def test_a_submodule_reached_through_a_dotted_import_counts(project):
    project.write("pipelines/dotted.py", "import shop.deep\n\n\ndef g(x):\n    return shop.deep.depth(x)\n")
    before = project.code("g", "pipelines/dotted.py")
    assert "shop/deep.py::depth" in before.sources
    project.edit("shop/deep.py", "x - 1", "x - 3")
    assert project.code("g", "pipelines/dotted.py") != before
