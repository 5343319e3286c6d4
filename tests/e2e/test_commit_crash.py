"""A step whose process dies after storing its outputs and before committing its record: the retry (or
`resume`) finds or redoes the work, and the fingerprint ends with exactly one record."""
from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from durapipe.engine.run_step import CRASH_BEFORE_COMMIT_ENV
from durapipe.store.url import open_store
from tests.e2e.conftest import Project, new_project, step_statuses
from tests.e2e.projects import _PREAMBLE


def _pipeline(retries: int) -> str:
    return _PREAMBLE + dedent(f'''\
        @step(retries={retries}, retry_interval=0.1)
        def produce(out: Output):
            t = started("produce")
            with open(out, "w") as f:
                f.write("made once")
            finished("produce", t)


        @step
        def consume(src: Input, out: Output):
            t = started("consume")
            with open(src) as f, open(out, "w") as g:
                g.write(f.read() + "!")
            finished("consume", t)


        @pipeline
        def crashy():
            return {{"out": consume(src=produce().out).out}}
        ''')


def _crashing_project(tmp_path: Path, store_url: str | None, retries: int) -> tuple[Project, Path]:
    project = new_project(tmp_path / "project", store_url, _pipeline(retries))
    flag = tmp_path / "crash-once"
    flag.touch()
    project.env_extra = {CRASH_BEFORE_COMMIT_ENV: str(flag)}
    return project, flag


def _records(project: Project) -> list[str]:
    store = open_store(project.store_url or str(Path(project.root) / ".durapipe"))
    return sorted(store.list("steps/"))


def _output(project: Project, summary: dict) -> bytes:
    store = open_store(project.store_url or str(Path(project.root) / ".durapipe"))
    return store.get(f"artifacts/{summary['outputs']['out']['hash']}")


def test_a_step_killed_between_upload_and_commit_is_retried_into_exactly_one_record(store_url, tmp_path):
    project, flag = _crashing_project(tmp_path, store_url, retries=1)

    ran = project.run("flow.py:crashy")

    assert not flag.exists(), "the crash point was never reached; the test would prove nothing"
    assert ran.code == 0, ran.stderr
    assert step_statuses(ran.json) == {"produce": "ran", "consume": "ran"}
    assert project.ends()["produce"] == 2  # the first attempt finished its work and died before committing
    assert len(_records(project)) == 2  # one record per fingerprint: produce and consume
    assert _output(project, ran.json) == b"made once!"


def test_a_run_whose_step_was_killed_before_committing_resumes_into_exactly_one_record(store_url, tmp_path):
    project, flag = _crashing_project(tmp_path, store_url, retries=0)

    failed = project.run("flow.py:crashy")

    assert not flag.exists(), "the crash point was never reached; the test would prove nothing"
    assert failed.code == 1 and failed.json["status"] == "failed"
    assert "died" in failed.json["error"] and "\n" not in failed.json["error"]
    assert _records(project) == []  # nothing half-committed: its outputs are stored, no record names them
    resumed = project.cli("resume", failed.json["run_id"])
    assert resumed.code == 0, resumed.stderr
    assert resumed.json["status"] == "completed"
    assert project.ends()["produce"] == 2 and project.ends()["consume"] == 1
    assert len(_records(project)) == 2
    assert _output(project, resumed.json) == b"made once!"
