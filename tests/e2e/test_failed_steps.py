"""What a failed step's entry keeps, through the real `durapipe` command on every store: how long it ran, its log."""
from __future__ import annotations

from textwrap import dedent

from tests.e2e.projects import _PREAMBLE

FAILING = _PREAMBLE + dedent('''\
    @step
    def slow(out: Output):
        time.sleep(1.5)
        raise ValueError("slow and broken")


    @step
    def silent(out: Output):
        print("printed before forgetting the output")


    @pipeline
    def failing():
        return {"slow": slow().out, "silent": silent().out}
    ''')


def test_a_failed_step_records_how_long_it_ran(make_project, store_url):
    project = make_project(store_url, FAILING)
    done = project.run("flow.py:failing")
    assert done.code == 1 and done.json["steps"]["slow"]["status"] == "failed", done.stderr
    assert done.json["steps"]["slow"]["duration_s"] >= 1.5
    shown = project.cli("runs", "show", done.json["run_id"])
    assert shown.json["steps"]["slow"]["duration_s"] >= 1.5


def test_a_step_that_prints_and_writes_no_output_keeps_its_log(make_project, store_url):
    project = make_project(store_url, FAILING)
    done = project.run("flow.py:failing")
    assert done.json["steps"]["silent"]["status"] == "failed", done.stderr
    assert "did not write its output 'out'" in done.json["steps"]["silent"]["error"]
    store = ["--store", project.store_url] if project.store_url else []
    logged = project.cli("logs", done.json["run_id"], "silent", *store, as_json=False)
    assert logged.code == 0, logged.stderr
    assert "printed before forgetting the output" in logged.stdout
