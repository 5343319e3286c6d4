"""`durapipe run` of a pipeline with a step on a real local Ray head: data goes through the store both ways."""
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


    @step(compute="ray:{address}")
    def shout(src: Input, out: Output):
        print("shouting on the cluster")
        durapipe.log_metric("loudness", 11)
        durapipe.log_param("volume", "max")
        out.write_text(src.read_text().upper())


    @step(compute="ray:{address}")
    def breaks(src: Input, out: Output):
        print("breaking on the cluster")
        raise ValueError("the cluster step is broken")


    @step
    def check(src: Input, out: Output):
        out.write_text(src.read_text() + "!")


    @pipeline
    def mixed():
        loud = shout(src=make().out)
        # Last, so it fails after the others finished (a failure starts no further step).
        breaks(src=check(src=loud.out).out)
    ''')


@pytest.fixture(scope="module")
def ran(tmp_path_factory, ray_head) -> dict[str, Any]:
    """Two runs of a local -> Ray -> local chain beside a Ray step that fails."""
    project: Project = new_project(tmp_path_factory.mktemp("remote") / "project", None,
                                   MIXED.replace("{address}", ray_head))
    first = project.run(TARGET)
    second = project.run(TARGET)
    return {"project": project, "first": first, "second": second}


def _text(ran: dict[str, Any], step: str) -> str:
    from durapipe.store.artifacts import read_artifact_bytes
    from durapipe.store.url import open_store

    store = open_store(str(ran["project"].root / ".durapipe"))
    return read_artifact_bytes(store, ran["first"].json["steps"][step]["outputs"]["out"]).decode()


def test_a_chain_through_the_cluster_completes_and_only_the_broken_step_fails(ran):
    first = ran["first"]
    assert first.code == 1, first.stderr
    assert step_statuses(first.json) == {"make": "ran", "shout": "ran", "check": "ran", "breaks": "failed"}
    assert _text(ran, "check") == "MADE LOCALLY!"


def test_the_failed_remote_step_shows_its_remote_logs(ran):
    assert "the cluster step is broken" in ran["first"].json["steps"]["breaks"]["error"]
    done = ran["project"].cli("logs", ran["first"].json["run_id"], "breaks", as_json=False)
    assert done.code == 0, done.stderr
    assert "breaking on the cluster" in done.stdout


def test_a_remote_step_logs_metrics_and_parameters_as_a_local_one_does(ran):
    shout = ran["first"].json["steps"]["shout"]
    assert (shout["metrics"], shout["logged_params"]) == ({"loudness": 11}, {"volume": "max"})
    assert ran["first"].json["metrics"] == {"loudness": 11}


def test_a_second_run_reuses_the_remote_step(ran):
    assert step_statuses(ran["second"].json)["shout"] == "reused"


def test_the_run_records_where_each_remote_step_ran(ran):
    shown = ran["project"].cli("runs", "show", ran["first"].json["run_id"])
    assert shown.code == 0, shown.stderr
    assert shown.json["steps"]["shout"]["compute"].startswith("ray:http://127.0.0.1:")
    assert "compute" not in shown.json["steps"]["make"]


FLAKY = dedent('''\
    from pathlib import Path
    from durapipe import Output, pipeline, step


    @step(compute="ray:{address}")
    def flaky(out: Output):
        if Path("{flag}").exists():
            raise RuntimeError("the cluster had a bad moment")
        out.write_text("fine now")


    @pipeline
    def once():
        return {"out": flaky().out}
    ''')


def test_resuming_a_failed_run_submits_its_remote_step_again(tmp_path, ray_head):
    flag = tmp_path / "fail"
    flag.write_text("fail")
    project = new_project(tmp_path / "project", None, FLAKY.replace("{address}", ray_head).replace("{flag}", str(flag)))
    first = project.run("flow.py:once")
    assert first.code == 1 and "the cluster had a bad moment" in first.json["steps"]["flaky"]["error"]
    flag.unlink()
    resumed = project.cli("resume", first.json["run_id"])
    assert resumed.code == 0, resumed.json["steps"]["flaky"]["error"]
    assert step_statuses(resumed.json) == {"flaky": "ran"}


SWEPT = dedent('''\
    import json

    import durapipe
    from durapipe import Output, pipeline, step


    @step(compute="ray:{address}")
    def fit(model: Output, C: float = 1.0):
        durapipe.log_metric("mae", abs(C - 2.0))
        model.write_text(json.dumps({"C": C}))


    @pipeline
    def tune():
        best = durapipe.sweep(fit, grid={"C": [2.0, 5.0]}, metric="mae", direction="min")
        return {"model": best.model}
    ''')


def test_a_sweep_on_the_cluster_picks_the_best_trial_by_what_it_logged(tmp_path, ray_head):
    project = new_project(tmp_path / "project", None, SWEPT.replace("{address}", ray_head))
    done = project.run("flow.py:tune")
    assert done.code == 0, done.json["error"] if done.json else done.stderr
    assert done.json["steps"]["fit_trial_1"]["metrics"] == {"mae": 0.0}
    assert done.json["metrics"] == {"mae": 0.0}


LOCAL_TO_RAY = dedent('''\
    from durapipe import Input, Output, pipeline, step


    @step
    def make(out: Output):
        out.write_text("made locally")


    @step(compute="ray:{address}")
    def shout(src: Input, out: Output):
        out.write_text(src.read_text().upper())


    @pipeline
    def loud():
        return {"out": shout(src=make().out).out}
    ''')


def test_a_remote_step_whose_input_is_corrupt_runs_again_once_the_local_step_made_it_again(tmp_path, ray_head):
    from durapipe.store.url import open_store

    project = new_project(tmp_path / "project", None, LOCAL_TO_RAY.replace("{address}", ray_head))
    first = project.run("flow.py:loud")
    assert first.code == 0, first.stderr
    store = open_store(str(project.root / ".durapipe"))
    key = f"artifacts/{first.json['steps']['make']['outputs']['out']['hash']}"
    store.put(key, b"MADE LOCALLY")  # same size, other bytes
    healed = project.run("flow.py:loud", "--force", "shout")
    assert healed.code == 0, healed.json["steps"]["shout"].get("error")
    assert step_statuses(healed.json) == {"make": "ran", "shout": "ran"}
    assert store.get(key) == b"made locally" and healed.json["outputs"] == first.json["outputs"]
