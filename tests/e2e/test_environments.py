"""Steps in environments of their own: conflicting versions side by side, reused, explained when changed."""
from __future__ import annotations

from textwrap import dedent
from typing import Any

import pytest

from tests.e2e.conftest import Project, new_project, step_statuses

TARGET = "flow.py:versions"

VERSIONS = dedent('''\
    from durapipe import Output, pipeline, step


    def seen():
        try:
            import importlib.metadata
            return importlib.metadata.version("tomli-w")
        except importlib.metadata.PackageNotFoundError:
            return "absent"


    @step(environment=["tomli-w==1.0.0"])
    def old(out: Output):
        import tomli_w
        from durapipe import log_metric
        print("old sees tomli-w", seen())
        log_metric("seen_major", float(seen().split(".")[0]))
        out.write_text(seen() + " " + tomli_w.dumps({"a": 1}).strip())


    @step(environment="requirements/new.txt")
    def new(out: Output):
        import tomli_w
        out.write_text(seen())


    @step
    def plain(out: Output):
        out.write_text(seen())


    @step(environment=["durapipe-no-such-package-xq==1.0"])
    def unbuildable(out: Output):
        out.write_text("never")


    @pipeline
    def versions():
        old(); new(); plain()


    @pipeline
    def broken():
        unbuildable(); plain()
    ''')


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """Cold, unchanged, with the new step's requirements file edited, forced, and a pipeline with a broken one."""
    project = new_project(tmp_path_factory.mktemp("envs") / "project", None, VERSIONS)
    (project.root / "requirements").mkdir()
    project.write("requirements/new.txt", "tomli-w==1.1.0\n")
    first = project.run(TARGET)
    second = project.run(TARGET)
    project.write("requirements/new.txt", "tomli-w==1.2.0\n")
    third = project.run(TARGET)
    forced = project.run(TARGET, "--force", "old")
    broken = project.run("flow.py:broken")
    return {"project": project, "first": first, "second": second, "third": third, "forced": forced,
            "broken": broken}


def _output_text(runs: dict[str, Any], run: str, step: str) -> str:
    from durapipe.store.artifacts import read_artifact_bytes
    from durapipe.store.url import open_store

    store = open_store(str(runs["project"].root / ".durapipe"))
    return read_artifact_bytes(store, runs[run].json["steps"][step]["outputs"]["out"]).decode()


def test_each_step_sees_its_own_version_and_the_default_step_none(runs):
    first = runs["first"]
    assert first.code == 0, first.stderr
    assert step_statuses(first.json) == {"old": "ran", "new": "ran", "plain": "ran"}
    assert _output_text(runs, "first", "old") == "1.0.0 a = 1"
    assert _output_text(runs, "first", "new") == "1.1.0"
    assert _output_text(runs, "first", "plain") == "absent"


def test_a_second_run_reuses_every_step(runs):
    assert step_statuses(runs["second"].json) == {"old": "reused", "new": "reused", "plain": "reused"}


def test_a_changed_requirements_file_reruns_only_its_step(runs):
    third = runs["third"]
    assert step_statuses(third.json) == {"old": "reused", "new": "ran", "plain": "reused"}
    assert _output_text(runs, "third", "new") == "1.2.0"


def test_explain_names_the_changed_environment(runs):
    done = runs["project"].cli("explain", runs["third"].json["run_id"], "new", as_json=False)
    assert done.code == 0, done.stderr
    assert "step environment changed from [tomli-w==1.1.0] to [tomli-w==1.2.0]" in done.stdout


def test_a_step_in_its_own_environment_logs_and_reports_metrics_as_any_step(runs):
    first = runs["first"]
    assert first.json["steps"]["old"]["metrics"] == {"seen_major": 1.0}
    done = runs["project"].cli("logs", first.json["run_id"], "old", as_json=False)
    assert done.code == 0, done.stderr
    assert "old sees tomli-w 1.0.0" in done.stdout


def test_force_reruns_a_step_in_its_own_environment(runs):
    forced = runs["forced"]
    assert forced.code == 0, forced.stderr
    assert step_statuses(forced.json) == {"old": "ran", "new": "reused", "plain": "reused"}
    assert _output_text(runs, "forced", "old") == "1.0.0 a = 1"


def test_a_requirement_that_cannot_be_installed_fails_only_its_step_with_the_installers_message(runs):
    broken = runs["broken"]
    assert broken.code == 1, broken.stderr
    assert step_statuses(broken.json) == {"unbuildable": "failed", "plain": "reused"}
    error = broken.json["steps"]["unbuildable"]["error"]
    assert "could not be built" in error and "durapipe-no-such-package-xq" in error
