"""`durapipe run` of a mapped step on a real local Ray head: one job per partition, reused per partition."""
from __future__ import annotations

from textwrap import dedent
from typing import Any

import pytest

from tests.e2e.conftest import Project, new_project, step_statuses

TARGET = "flow.py:mapped"

MAPPED = dedent('''\
    import durapipe
    from durapipe import Input, Output, pipeline, step


    @step(compute="ray:{address}")
    def shout(part: Input, out: Output):
        text = part.read_text()
        print("shouting on the cluster:", text, "from", part.name, "as partition", durapipe.partition().name)
        if text == "boom":
            raise ValueError("this partition says boom")
        out.write_text(text.upper())


    @step
    def join(parts: Input, all: Output):
        all.write_text(",".join(p.read_text() for p in sorted(parts.iterdir())))


    @pipeline
    def mapped(parts: Input):
        return {"all": join(parts=shout.map("part", part=parts).out).all}
    ''')


@pytest.fixture(scope="module")
def ran(tmp_path_factory, ray_head) -> dict[str, Any]:
    """Cold, unchanged, moved to local compute, and a folder with one more partition that fails."""
    project: Project = new_project(tmp_path_factory.mktemp("remote-mapped") / "project", None,
                                   MAPPED.replace("{address}", ray_head))
    for folder, files in {"parts": {"a.txt": "a", "b.txt": "b", "c.txt": "c"},
                          "more": {"a.txt": "a", "boom.txt": "boom"}}.items():
        (project.root / folder).mkdir()
        for name, text in files.items():
            project.write(f"{folder}/{name}", text)
    first = project.run(TARGET, "--input", "parts=parts")
    second = project.run(TARGET, "--input", "parts=parts")
    project.edit("flow.py", f'compute="ray:{ray_head}"', 'compute="local"')
    local = project.run(TARGET, "--input", "parts=parts")
    project.edit("flow.py", 'compute="local"', f'compute="ray:{ray_head}"')
    failing = project.run(TARGET, "--input", "parts=more")
    return {"project": project, "first": first, "second": second, "local": local, "failing": failing}


def _text(ran: dict[str, Any], ref: dict[str, Any]) -> str:
    from durapipe.store.artifacts import read_artifact_bytes
    from durapipe.store.url import open_store

    return read_artifact_bytes(open_store(str(ran["project"].root / ".durapipe")), ref).decode()


def test_every_partition_runs_as_a_job_on_the_cluster(ran):
    first = ran["first"]
    assert first.code == 0, first.stderr
    assert step_statuses(first.json) == {"shout": "ran", "join": "ran"}
    assert _text(ran, first.json["outputs"]["all"]) == "A,B,C"
    shown = ran["project"].cli("runs", "show", first.json["run_id"])
    assert shown.code == 0, shown.stderr
    shout = shown.json["steps"]["shout"]
    assert shout["compute"].startswith("ray:http://127.0.0.1:")
    assert shout["partitions"] == {"total": 3, "ran": 3, "reused": 0}


def test_each_partition_keeps_the_log_its_job_wrote(ran):
    done = ran["project"].cli("logs", ran["first"].json["run_id"], "shout", "--partition", "b.txt", as_json=False)
    assert done.code == 0, done.stderr
    assert "shouting on the cluster: b" in done.stdout


def test_a_partition_job_sees_its_file_name(ran):
    done = ran["project"].cli("logs", ran["first"].json["run_id"], "shout", "--partition", "b.txt", as_json=False)
    assert "shouting on the cluster: b from b.txt as partition b.txt" in done.stdout, done.stderr


def test_a_second_run_reuses_every_partition(ran):
    second = ran["second"]
    assert second.code == 0, second.stderr
    assert step_statuses(second.json) == {"shout": "reused", "join": "reused"}
    assert second.json["outputs"]["all"] == ran["first"].json["outputs"]["all"]


def test_where_the_partitions_run_is_not_part_of_their_fingerprints(ran):
    local = ran["local"]
    assert local.code == 0, local.stderr
    assert step_statuses(local.json) == {"shout": "reused", "join": "reused"}


def test_a_failed_partition_fails_the_step_alone_with_its_remote_log(ran):
    failing = ran["failing"]
    assert failing.code == 1, failing.stderr
    assert step_statuses(failing.json) == {"shout": "failed", "join": "not_run"}
    error = failing.json["steps"]["shout"]["error"]
    assert "partition boom.txt failed:" in error and "this partition says boom" in error
    done = ran["project"].cli("logs", failing.json["run_id"], "shout", "--partition", "boom.txt", as_json=False)
    assert done.code == 0, done.stderr
    assert "shouting on the cluster: boom" in done.stdout
