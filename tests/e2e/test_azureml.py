"""`durapipe run` of a pipeline with steps on Azure ML, through the real azure-ai-ml client against the local double."""
from __future__ import annotations

from textwrap import dedent
from typing import Any

import pytest

from tests.e2e.conftest import Project, new_project, step_statuses

TARGET = "flow.py:mixed"

MIXED = dedent('''\
    import durapipe
    from durapipe import Input, Output, pipeline, step


    @step
    def make(out: Output):
        out.write_text("made locally")


    @step(compute="azureml:gpu-cluster")
    def shout(src: Input, out: Output):
        print("shouting on azure ml")
        durapipe.log_metric("loudness", 11)
        durapipe.log_param("volume", "max")
        out.write_text(src.read_text().upper())


    @step(compute="azureml:gpu-cluster")
    def breaks(src: Input, out: Output):
        print("breaking on azure ml")
        raise ValueError("the azure ml step is broken")


    @step
    def check(src: Input, out: Output):
        out.write_text(src.read_text() + "!")


    @pipeline
    def mixed():
        loud = shout(src=make().out)
        breaks(src=check(src=loud.out).out)
    ''')


@pytest.fixture(scope="module")
def ran(tmp_path_factory, azureml_double) -> dict[str, Any]:
    """Two runs of a local -> Azure ML -> local chain beside an Azure ML step that fails."""
    project: Project = new_project(tmp_path_factory.mktemp("azureml") / "project", None, MIXED)
    project.env_extra.update(azureml_double.settings())
    first = project.run(TARGET)
    puts_after_first = len(azureml_double.calls("PUT", r"/jobs/"))
    second = project.run(TARGET)
    return {"project": project, "first": first, "second": second, "double": azureml_double,
            "puts_after_first": puts_after_first}


def test_a_chain_through_azure_ml_completes_and_only_the_broken_step_fails(ran):
    from durapipe.store.artifacts import read_artifact_bytes
    from durapipe.store.url import open_store

    first = ran["first"]
    assert first.code == 1, first.stderr
    assert step_statuses(first.json) == {"make": "ran", "shout": "ran", "check": "ran", "breaks": "failed"}
    store = open_store(str(ran["project"].root / ".durapipe"))
    assert read_artifact_bytes(store, first.json["steps"]["check"]["outputs"]["out"]).decode() == "MADE LOCALLY!"


def test_the_failed_azure_ml_step_shows_its_remote_logs(ran):
    assert "the azure ml step is broken" in ran["first"].json["steps"]["breaks"]["error"]
    done = ran["project"].cli("logs", ran["first"].json["run_id"], "breaks", as_json=False)
    assert done.code == 0, done.stderr
    assert "breaking on azure ml" in done.stdout


def test_a_second_run_reuses_the_azure_ml_step_without_submitting_it(ran):
    assert step_statuses(ran["second"].json)["shout"] == "reused"
    run_id = ran["second"].json["run_id"]
    assert not ran["double"].calls("PUT", rf"/jobs/durapipe-{run_id}-shout\?")


def test_the_run_records_the_azure_ml_target_and_the_fingerprint_leaves_it_out(ran):
    shown = ran["project"].cli("runs", "show", ran["first"].json["run_id"])
    assert shown.code == 0, shown.stderr
    assert shown.json["steps"]["shout"]["compute"] == "azureml:gpu-cluster"
    local = ran["project"].root / "flow.py"
    moved = MIXED.replace('@step(compute="azureml:gpu-cluster")\ndef shout', '@step\ndef shout')
    assert moved != MIXED
    local.write_text(moved)
    try:
        third = ran["project"].run(TARGET)
    finally:
        local.write_text(MIXED)
    assert step_statuses(third.json)["shout"] == "reused"
    assert third.json["steps"]["shout"]["fingerprint"] == ran["first"].json["steps"]["shout"]["fingerprint"]


def test_a_remote_step_logs_metrics_and_parameters_as_a_local_one_does(ran):
    shout = ran["first"].json["steps"]["shout"]
    assert (shout["metrics"], shout["logged_params"]) == ({"loudness": 11}, {"volume": "max"})
    assert ran["first"].json["metrics"] == {"loudness": 11}
