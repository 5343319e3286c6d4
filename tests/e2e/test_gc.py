"""`durapipe gc` through the real command: a dry run by default, --apply deletes, data versions stay."""
from __future__ import annotations

from tests.e2e.projects import READ_RAW

TARGET = "flow.py:read_raw"


def test_gc_is_a_dry_run_by_default_and_apply_keeps_what_a_data_version_needs(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    project.write("raw.csv", "one")
    project.cli("data", "register", "raw", "raw.csv")
    run = project.run(TARGET, "--input", "raw=data:raw")
    dry = project.cli("gc", "--older-than", "0")
    assert dry.code == 0 and dry.json["applied"] is False
    assert f"runs/{run.json['run_id']}.json" in {d["key"] for d in dry.json["delete"]}
    assert project.cli("runs", "show", run.json["run_id"]).code == 0
    applied = project.cli("gc", "--older-than", "0", "--apply")
    assert applied.code == 0 and applied.json["bytes"] == dry.json["bytes"]
    assert project.cli("runs", "show", run.json["run_id"]).code == 1
    assert project.cli("data", "download", "raw:1", str(project.root / "back")).code == 0
    assert (project.root / "back" / "raw.csv").read_text() == "one"


def test_gc_prints_each_key_and_the_total_bytes(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    project.write("raw.csv", "one")
    project.run(TARGET, "--input", "raw=raw.csv")
    text = project.cli("gc", "--older-than", "0", as_json=False).stdout
    assert "would delete runs/" in text and text.strip().splitlines()[-1].startswith("would delete ")
    assert "run again with --apply to delete" in text
