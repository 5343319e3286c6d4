"""A run that fails while planning still has a record, failed with one sentence (issue 35, item 6)."""
from __future__ import annotations

from textwrap import dedent

from tests.e2e.conftest import new_project

PER_FILE = dedent('''\
    from durapipe import step, pipeline, Input, Output

    @step
    def upper(part: Input, out: Output):
        out.write_text(part.read_text().upper())

    @pipeline
    def per_file(folder: Input):
        return {"out": upper.map("part", part=folder).out}
''')


def test_run_that_fails_while_planning_is_recorded_as_failed(tmp_path, store_url):
    project = new_project(tmp_path / "project", store_url, PER_FILE)
    project.write("one.txt", "just one file")
    failed = project.run("flow.py:per_file", "--input", "folder=one.txt")
    assert failed.code == 1, failed.stderr
    error = failed.json["error"] if failed.json else failed.stderr
    assert "Orchestrator function" not in error and "Orchestrator function" not in failed.stderr
    run_id = failed.json["run_id"]
    shown = project.cli("runs", "show", run_id)
    assert shown.code == 0, shown.stderr
    assert shown.json["status"] == "failed"
    assert "folder" in shown.json["error"] and "\n" not in shown.json["error"]
    listed = project.cli("runs", "list")
    assert run_id in [r["run_id"] for r in listed.json]
