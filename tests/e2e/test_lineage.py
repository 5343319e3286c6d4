"""Lineage through the real `durapipe` command: a registered model traces back to its data version and code."""
from __future__ import annotations

import pytest

from tests.e2e.projects import TRAIN_DEFINITIONS, TRAIN_ON_DATA, TRAIN_PYPROJECT

TARGET = "flow.py:train"


@pytest.fixture
def trained(make_project, store_url):
    project = make_project(store_url, TRAIN_ON_DATA)
    project.write("pyproject.toml", TRAIN_PYPROJECT)
    project.write("defs.py", TRAIN_DEFINITIONS)
    project.write("raw.csv", "rows")
    data = project.cli("data", "register", "raw", "raw.csv").json
    run = project.run(TARGET, "--input", "raw=data:raw:1", "--param", "C=0.5")
    assert run.code == 0, run.stderr
    registered = project.cli("models", "register", run.json["run_id"], "clf")
    assert registered.code == 0, registered.stderr
    return project, run.json, data


def test_a_registered_model_traces_back_to_its_data_version_and_code_files(trained):
    project, run, data = trained
    tree = project.cli("lineage", "model:clf:1").json
    assert tree["kind"] == "model" and tree["run_id"] == run["run_id"]
    fit = tree["artifact"]["produced_by"]
    assert fit["step"] == "fit" and fit["params"] == {"C": 0.5} and "flow.py::fit" in fit["code"]
    assert fit["environment"]["python"].startswith("CPython")
    features = tree["artifact"]["inputs"]["features"]
    prepare = features["produced_by"]
    assert prepare["step"] == "prepare" and {"flow.py::prepare", "helper.py"} <= set(prepare["code"])
    raw = features["inputs"]["raw"]
    assert raw["hash"] == data["hash"] and raw["data_versions"] == [{"data": "raw", "version": 1}]
    assert "produced_by" not in raw


def test_lineage_as_text_names_each_step_code_file_and_the_data_version(trained):
    project, _, _ = trained
    text = project.cli("lineage", "model:clf:1", as_json=False).stdout
    assert "made by step fit" in text and "made by step prepare" in text
    assert "code flow.py::fit" in text and "= data raw:1" in text


def test_lineage_of_a_data_version_published_by_a_run_leads_to_that_run(trained):
    project, _, _ = trained
    published = project.run(TARGET, "--input", "raw=data:raw:1", "--param", "C=0.7", "--publish", "model=models")
    tree = project.cli("lineage", "data:models:1").json
    assert tree["source"]["run_id"] == published.json["run_id"]
    assert tree["artifact"]["produced_by"]["step"] == "fit"


def test_lineage_of_something_unknown_is_one_sentence(trained):
    project, _, _ = trained
    done = project.cli("lineage", "run:abc", as_json=False)
    assert done.code == 2 and done.stderr.startswith("error: Lineage of 'run:abc' is not known")
