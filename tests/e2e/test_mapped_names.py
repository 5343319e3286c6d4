"""Mapped steps keep their files' names: the step sees its partition's file name, and the name is in its fingerprint."""
from __future__ import annotations

from tests.e2e.conftest import new_project, step_statuses

NAMED = '''
import os
import durapipe
from durapipe import Input, Output, pipeline, step


@step
def label(image: Input, out: Output):
    part = durapipe.partition()
    with open(os.environ["DURAPIPE_TEST_LOG"], "a") as log:
        log.write(f"label saw {image.name} {part.name} {part.key}\\n")
    out.write_text(f"{part.name},{image.read_text()}")


@pipeline
def labels(images: Input):
    return {"out": label.map("image", image=images).out}
'''


def _project(tmp_path, store_url, files):
    project = new_project(tmp_path / "project", store_url, NAMED)
    (project.root / "images").mkdir()
    for name, text in files.items():
        (project.root / "images" / name).write_text(text)
    return project


def _seen(project):
    return sorted(tuple(parts[2:]) for parts in project.log_lines() if parts[:2] == ["label", "saw"])


def test_a_mapped_step_sees_its_partitions_file_name_and_key(store_url, tmp_path):
    project = _project(tmp_path, store_url, {"cat.jpg": "c", "dog.png": "d"})
    run = project.run("flow.py:labels", "--input", "images=images")
    assert run.code == 0, run.stderr
    assert _seen(project) == [("cat.jpg", "cat.jpg", "cat.jpg"), ("dog.png", "dog.png", "dog.png")]
    assert sorted(run.json["steps"]["label"]["by_partition"]) == ["cat.jpg", "dog.png"]


def test_partitions_of_equal_content_under_other_names_each_run_since_the_step_sees_the_name(store_url, tmp_path):
    project = _project(tmp_path, store_url, {"a.jpg": "same", "b.jpg": "same"})
    first = project.run("flow.py:labels", "--input", "images=images")
    assert first.code == 0, first.stderr
    assert _seen(project) == [("a.jpg", "a.jpg", "a.jpg"), ("b.jpg", "b.jpg", "b.jpg")]
    (project.root / "images" / "b.jpg").rename(project.root / "images" / "c.jpg")
    second = project.run("flow.py:labels", "--input", "images=images")
    assert second.code == 0, second.stderr
    statuses = {name: p["status"] for name, p in second.json["steps"]["label"]["by_partition"].items()}
    assert statuses == {"a.jpg": "reused", "c.jpg": "ran"}
    again = project.run("flow.py:labels", "--input", "images=images")
    assert step_statuses(again.json) == {"label": "reused"}


def test_plan_says_how_many_partitions_of_a_mapped_step_would_run(store_url, tmp_path):
    project = _project(tmp_path, store_url, {"a.jpg": "a", "b.jpg": "b"})
    assert project.run("flow.py:labels", "--input", "images=images").code == 0
    (project.root / "images" / "c.jpg").write_text("c")
    plan = project.cli("plan", "flow.py:labels", "--input", "images=images")
    assert plan.code == 0, plan.stderr
    label = next(s for s in plan.json["steps"] if s["step"] == "label")
    assert label["action"] == "run" and label["partitions"] == {"run": 1, "total": 3}
    assert label["reason"] == "run 1 of 3 partitions: no result is committed for it"
    text = project.cli("plan", "flow.py:labels", "--input", "images=images", as_json=False)
    assert "label: run 1 of 3 partitions" in text.stdout
