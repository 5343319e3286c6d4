"""A step's fingerprint from its components."""
from __future__ import annotations

import os

from durapipe.core import file_signature
from durapipe.fingerprint import code as code_module
from durapipe.fingerprint.fingerprint import compute_fingerprint, step_components

INPUTS = {"raw": "a1" * 32}


def fingerprint(project, qualname="a", params=None, inputs=None, version=None):
    components = step_components(
        (project.pipeline, qualname), project.root, {"C": 1.0} if params is None else params, inputs or INPUTS, version
    )
    return compute_fingerprint(components)


def test_components_hold_code_params_inputs_env_and_version(project):
    components = step_components((project.pipeline, "e"), project.root, {"C": 1.0}, INPUTS, "2")
    assert set(components) == {"code", "params", "inputs", "env", "version", "code_via"}
    assert components["env"]["packages"].keys() == {"numpy", "scikit-learn"}
    assert components["version"] == "2"


def test_how_the_code_was_reached_is_kept_but_not_hashed(project):
    components = step_components((project.pipeline, "a"), project.root, {"C": 1.0}, INPUTS, None)
    assert components["code_via"]["helpers.py::double"] == "pipelines/retrain.py::a -> helpers.double"
    rerouted = {**components, "code_via": {}}
    assert compute_fingerprint(rerouted) == compute_fingerprint(components)


def test_the_same_components_give_the_same_fingerprint(project):
    assert fingerprint(project) == fingerprint(project)


def test_a_parameter_change_changes_the_fingerprint(project):
    assert fingerprint(project, params={"C": 0.5}) != fingerprint(project, params={"C": 1.0})


def test_parameter_order_does_not_change_the_fingerprint(project):
    assert fingerprint(project, params={"C": 1.0, "n": 2}) == fingerprint(project, params={"n": 2, "C": 1.0})


def test_int_float_and_bool_parameters_give_different_fingerprints(project):
    prints = {fingerprint(project, params={"C": value}) for value in (1, 1.0, True)}
    assert len(prints) == 3


def test_an_input_content_change_changes_the_fingerprint(project):
    assert fingerprint(project, inputs={"raw": "b2" * 32}) != fingerprint(project)


def test_a_version_override_changes_the_fingerprint(project):
    assert fingerprint(project, version="2") != fingerprint(project)


def test_a_helper_edit_changes_only_the_fingerprint_of_the_step_using_it(project):
    a, b = fingerprint(project, "a"), fingerprint(project, "b")
    project.edit("helpers.py", "2 * x", "3 * x")
    assert fingerprint(project, "a") != a
    assert fingerprint(project, "b") == b


def test_a_function_object_can_be_fingerprinted(project):
    module = project.load()
    by_object = compute_fingerprint(step_components(module.d, project.root, {}, INPUTS, None))
    by_path = compute_fingerprint(step_components((project.pipeline, "d"), project.root, {}, INPUTS, None))
    assert by_object == by_path


def test_the_code_closure_is_remembered_until_a_file_it_read_changes(project, monkeypatch):
    monkeypatch.setattr(file_signature, "RACY_WINDOW_S", 0.0)
    calls = []
    real = code_module._Closure.of_function
    monkeypatch.setattr(code_module._Closure, "of_function", lambda self, *a: calls.append(a) or real(self, *a))
    first = project.code("a")
    assert project.code("a") == first and len(calls) == 1
    helpers = project.root / "helpers.py"
    project.edit("helpers.py", "2 * x", "20 * x")
    os.utime(helpers, ns=(helpers.stat().st_atime_ns, helpers.stat().st_mtime_ns + 1_000_000_000))
    assert project.code("a") != first and len(calls) == 2
