"""Data versions as pipeline inputs through the real `durapipe` command, over every store."""
from __future__ import annotations

from tests.e2e.conftest import step_statuses
from tests.e2e.projects import READ_RAW

TARGET = "flow.py:read_raw"


def test_data_commands_register_list_show_and_download_versions(make_project, store_url, tmp_path):
    project = make_project(store_url, READ_RAW)
    project.write("raw.csv", "one")
    first = project.cli("data", "register", "raw", "raw.csv", "--tag", "day=1", "--description", "day one")
    project.write("raw.csv", "two!")
    second = project.cli("data", "register", "raw", "raw.csv")
    again = project.cli("data", "register", "raw", "raw.csv")
    assert (first.code, second.code, again.code) == (0, 0, 0), first.stderr + second.stderr
    assert (first.json["version"], second.json["version"], again.json["version"]) == (1, 2, 2)
    assert again.json["new"] is False and first.json["tags"] == {"day": "1"}
    assert [(a["name"], a["latest"]) for a in project.cli("data", "list").json] == [("raw", 2)]
    assert [v["size"] for v in project.cli("data", "versions", "raw").json] == [3, 4]
    assert project.cli("data", "show", "raw:1").json["description"] == "day one"
    downloaded = project.cli("data", "download", "raw:1", str(tmp_path / "out"))
    assert downloaded.code == 0 and (tmp_path / "out" / "raw.csv").read_text() == "one"


def test_an_unknown_data_version_is_one_sentence_and_exit_1(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    shown = project.cli("data", "show", "raw:3")
    assert shown.code == 1 and shown.stderr.strip() == ("error: There is no data asset named 'raw'; register one "
                                                        "with `durapipe data register raw PATH`.")


def test_a_run_on_data_v1_after_v2_exists_reuses_v1s_steps_and_records_the_version(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    project.write("raw.csv", "one")
    project.cli("data", "register", "raw", "raw.csv")
    on_latest = project.run(TARGET, "--input", "raw=data:raw")
    project.write("raw.csv", "two!")
    project.cli("data", "register", "raw", "raw.csv")
    on_v2 = project.run(TARGET, "--input", "raw=data:raw")
    on_v1 = project.run(TARGET, "--input", "raw=data:raw:1")
    assert (on_latest.code, on_v2.code, on_v1.code) == (0, 0, 0), on_v1.stderr
    assert step_statuses(on_v2.json) == {"count": "ran"} and step_statuses(on_v1.json) == {"count": "reused"}
    assert on_v1.json["outputs"] == on_latest.json["outputs"]
    assert project.starts()["count"] == 2
    record = project.cli("runs", "show", on_latest.json["run_id"], "--json", as_json=False).json
    assert record["trigger"]["inputs"]["raw"] == {"reference": "data:raw", "data": "raw", "version": 1,
                                                "hash": record["inputs"]["raw"]["hash"]}
