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


def test_publish_registers_a_completed_runs_output_as_a_data_version_once(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    project.write("raw.csv", "one")
    first = project.run(TARGET, "--input", "raw=raw.csv", "--publish", "count=counts")
    again = project.run(TARGET, "--input", "raw=raw.csv", "--publish", "count=counts")
    assert first.code == 0 and again.code == 0, first.stderr
    assert first.json["published"] == {"count": {"data": "counts", "version": 1,
                                                 "hash": first.json["outputs"]["count"]["hash"]}}
    assert again.json["published"]["count"]["version"] == 1
    [version] = project.cli("data", "versions", "counts").json
    assert version["source"] == {"kind": "run", "run_id": first.json["run_id"], "output": "count"}


def test_publish_of_an_unknown_output_is_a_usage_error(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    project.write("raw.csv", "one")
    done = project.run(TARGET, "--input", "raw=raw.csv", "--publish", "nope=counts")
    assert done.code == 2 and "--publish names output 'nope'" in done.stderr


def test_a_run_in_a_git_work_tree_records_its_commit_and_dirty_flag(make_project, store_url):
    import subprocess

    project = make_project(store_url, READ_RAW)
    project.write("raw.csv", "one")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project.root, check=True)
    subprocess.run([*git, "add", "flow.py", "helper.py", "pyproject.toml"], cwd=project.root, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=project.root, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.root, capture_output=True, text=True,
                            check=True).stdout.strip()
    clean = project.run(TARGET, "--input", "raw=raw.csv")
    project.edit("flow.py", "str(len(f.read()))", "str(len(f.read()) + 1)")
    dirty = project.run(TARGET, "--input", "raw=raw.csv")
    assert clean.json["git"] == {"commit": commit, "dirty": False}
    assert dirty.json["git"] == {"commit": commit, "dirty": True}
