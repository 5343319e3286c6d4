"""Explaining which components differ between two fingerprints."""
from __future__ import annotations

from durapipe.fingerprint.explain import explain
from durapipe.fingerprint.fingerprint import step_components

OLD = {
    "code": {"pipelines/retrain.py::fit": "1" * 64, "helpers/feature.py": "2" * 64},
    "params": {"C": 1.0, "seed": 0},
    "inputs": {"raw": "a1b2c3d4" + "0" * 56},
    "env": {"python": "CPython 3.11.7", "packages": {"scikit-learn": "1.4.0"}},
    "version": None,
}


def changed(**parts):
    new = {key: (dict(value) if isinstance(value, dict) else value) for key, value in OLD.items()}
    new.update(parts)
    return new


def describe(old, new):
    return [change.describe() for change in explain(old, new)]


def test_identical_components_explain_nothing():
    assert explain(OLD, changed()) == []


def test_a_code_change_names_the_file():
    new = changed(code={**OLD["code"], "helpers/feature.py": "3" * 64})
    assert describe(OLD, new) == ["code changed in helpers/feature.py"]


def test_an_added_code_component_is_named():
    new = changed(code={**OLD["code"], "pipelines/retrain.py::clean": "4" * 64})
    assert describe(OLD, new) == ["code component pipelines/retrain.py::clean was added"]


def test_a_parameter_change_names_old_and_new_values():
    assert describe(OLD, changed(params={"C": 0.5, "seed": 0})) == ["parameter C changed from 1.0 to 0.5"]


def test_an_int_to_float_parameter_change_is_visible():
    assert describe(OLD, changed(params={"C": 1.0, "seed": 0.0})) == ["parameter seed changed from 0 to 0.0"]


def test_an_input_change_shows_short_content_hashes():
    new = changed(inputs={"raw": "9f8e7d6c" + "0" * 56})
    assert describe(OLD, new) == ["input raw changed (content a1b2c3d4 -> 9f8e7d6c)"]


def test_a_package_change_names_the_package_and_versions():
    new = changed(env={"python": "CPython 3.11.7", "packages": {"scikit-learn": "1.5.0"}})
    assert describe(OLD, new) == ["package scikit-learn changed from 1.4.0 to 1.5.0"]


def test_a_python_change_is_named():
    new = changed(env={"python": "CPython 3.12.1", "packages": {"scikit-learn": "1.4.0"}})
    changes = explain(OLD, new)
    assert [(c.kind, c.old, c.new) for c in changes] == [("python", "CPython 3.11.7", "CPython 3.12.1")]


def test_a_version_override_is_named():
    assert [c.kind for c in explain(OLD, changed(version="2"))] == ["version"]


def test_no_earlier_components_is_reported_as_new():
    assert [c.kind for c in explain(None, OLD)] == ["new"]


def test_a_real_helper_edit_names_the_function_and_the_import_path_that_reached_it(project):
    old = step_components((project.pipeline, "a"), project.root, {"C": 1.0}, {}, None)
    project.edit("helpers.py", "2 * x", "3 * x")
    new = step_components((project.pipeline, "a"), project.root, {"C": 1.0}, {}, None)
    assert describe(old, new) == ["code changed in helpers.py::double, reached by pipelines/retrain.py::a -> helpers.double"]


def test_a_change_reached_through_a_package_names_each_hop(project):
    old = step_components((project.pipeline, "c"), project.root, {}, {}, None)
    project.edit("shop/deep.py", "x - 1", "x - 2")
    new = step_components((project.pipeline, "c"), project.root, {}, {}, None)
    assert describe(old, new) == ["code changed in shop/deep.py::depth, reached by "
                                  "pipelines/retrain.py::c -> shop.tool -> deep.depth"]
