"""A store prefix as a run's input: the folder of the blobs under it (issue 35, item 4)."""
from __future__ import annotations

from textwrap import dedent

from durapipe.store.url import open_store
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


def test_a_mapped_step_runs_once_per_blob_under_a_prefix(tmp_path, store_url):
    project = new_project(tmp_path / "project", store_url, PER_FILE)
    store = open_store(store_url or str(project.root / ".durapipe"))
    store.put("incoming/b1/a.txt", b"a")
    store.put("incoming/b1/b.txt", b"b")
    run = project.run("flow.py:per_file", "--input", "folder=prefix:incoming/b1/")
    assert run.code == 0, run.stderr
    assert run.json["status"] == "completed"
    assert run.json["steps"]["upper"]["partitions"]["ran"] == 2
    assert run.json["trigger"]["inputs"]["folder"] == {"reference": "prefix:incoming/b1/", "prefix": "incoming/b1/",
                                                      "blobs": 2}


def test_a_store_folder_registered_as_data_is_a_folder_a_mapped_step_reads(tmp_path, store_url):
    project = new_project(tmp_path / "project", store_url, PER_FILE)
    store = open_store(store_url or str(project.root / ".durapipe"))
    store.put("incoming/b1/a.txt", b"a")
    store.put("incoming/b1/b.txt", b"b")
    registered = project.cli("data", "register", "batch", "incoming/b1/")
    assert registered.code == 0, registered.stderr
    assert registered.json["version"] == 1 and registered.json["source"]["kind"] == "prefix"
    run = project.run("flow.py:per_file", "--input", "folder=data:batch")
    assert run.code == 0, run.stderr
    assert run.json["steps"]["upper"]["partitions"]["ran"] == 2
