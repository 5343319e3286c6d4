"""What counts as a file a step read, and how a recorded read is checked: pure functions over a project folder."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from durapipe.fingerprint.reads import CHANGED_WHILE_RUNNING, changed_read, declared_component, traced_reads
from durapipe.store.hashing import hash_file


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for relative in ("config.json", ".durapipe/store/steps/x.json", ".git/HEAD", "pkg/__pycache__/m.cpython-311.pyc",
                     ".venv/lib/python3.11/site-packages/lib.py", "scratch/in/data.csv", "data/rows.csv"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(relative)
    return root


def test_only_project_files_outside_durapipes_state_packages_and_scratch_are_reads(tmp_path):
    root = _project(tmp_path)
    (tmp_path / "elsewhere.txt").write_text("outside")
    opened = [str(root / p) for p in ("config.json", ".durapipe/store/steps/x.json", ".git/HEAD",
                                      "pkg/__pycache__/m.cpython-311.pyc", ".venv/lib/python3.11/site-packages/lib.py",
                                      "scratch/in/data.csv", "data/rows.csv", "pkg")]
    opened += [str(tmp_path / "elsewhere.txt"), os.path.join(sys.prefix, "lib", "os.py")]
    reads = traced_reads(opened, root, time.time(), skip=[root / "scratch"])
    assert reads == {"config.json": hash_file(root / "config.json"), "data/rows.csv": hash_file(root / "data/rows.csv")}


def test_a_file_changed_after_the_step_started_matches_no_content(tmp_path):
    root = _project(tmp_path)
    started = time.time()
    time.sleep(0.01)
    (root / "config.json").write_text("edited while the step ran")
    assert traced_reads([str(root / "config.json")], root, started) == {"config.json": CHANGED_WHILE_RUNNING}


def test_a_missing_file_the_step_tried_to_open_is_a_read_that_changes_when_it_appears(tmp_path):
    root = _project(tmp_path)
    reads = traced_reads([str(root / "optional.json")], root, time.time())
    assert reads == {"optional.json": None}
    assert changed_read(reads, root) is None
    (root / "optional.json").write_text("{}")
    assert changed_read(reads, root) == "optional.json"


def test_a_recorded_read_holds_until_its_content_changes(tmp_path):
    root = _project(tmp_path)
    reads = {"config.json": hash_file(root / "config.json"), "data/rows.csv": hash_file(root / "data/rows.csv")}
    assert changed_read(reads, root) is None
    (root / "data/rows.csv").write_text("another row")
    assert changed_read(reads, root) == "data/rows.csv"


def test_declared_files_and_variables_hash_folders_whole_and_keep_no_value(tmp_path, monkeypatch):
    root = _project(tmp_path)
    monkeypatch.setenv("REGION", "west")
    monkeypatch.delenv("ZONE", raising=False)
    declared = declared_component(["data", "missing.cfg"], ["REGION", "ZONE"], root)
    assert set(declared["files"]) == {"data", "missing.cfg"} and declared["files"]["missing.cfg"] is None
    assert declared["env"]["ZONE"] is None and declared["env"]["REGION"] not in (None, "west")
    (root / "data" / "more.csv").write_text("x")
    assert declared_component(["data", "missing.cfg"], ["REGION", "ZONE"], root) != declared
    assert declared_component(None, [], root) is None


def test_explain_names_changed_files_and_variables_and_never_shows_a_value():
    from durapipe.fingerprint.explain import explain

    base = {"code": {}, "params": {}, "inputs": {}, "env": {}, "version": None}
    old = {**base, "reads": {"config.json": "a" * 64, "old.csv": "b" * 64},
           "declared": {"files": {"lookup": "c" * 64}, "env": {"REGION": "d" * 64, "ZONE": None}}}
    new = {**base, "reads": {"config.json": "e" * 64, "new.csv": "f" * 64},
           "declared": {"files": {"lookup": "0" * 64}, "env": {"REGION": "1" * 64, "ZONE": "2" * 64}}}
    assert [c.describe() for c in explain(old, new)] == [
        "file config.json changed (content aaaaaaaa -> eeeeeeee)",
        "file lookup changed (content cccccccc -> 00000000)",
        "file new.csv is read now (ffffffff)",
        "file old.csv is no longer read",
        "environment variable REGION changed",
        "environment variable ZONE was set",
    ]


def test_explain_leaves_out_traced_reads_when_one_side_was_not_traced():
    from durapipe.fingerprint.explain import explain

    base = {"code": {}, "params": {}, "inputs": {}, "env": {}, "version": None}
    assert explain({**base, "reads": {"config.json": "a" * 64}}, base) == []
