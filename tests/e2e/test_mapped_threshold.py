"""`step.map(..., error_threshold=N or a fraction)`: a few failed partitions leave the run completed, listed."""
from __future__ import annotations

from tests.e2e.conftest import new_project

SCORES = '''
import os
from durapipe import Input, Output, pipeline, step


@step
def score(image: Input, out: Output):
    text = image.read_text()
    print("scoring", text)
    if text == "bad" and not os.environ.get("FIXED"):
        raise ValueError("this image cannot be read")
    out.write_text(text.upper())


@pipeline
def scores(images: Input):
    return {"out": score.map("image", image=images, error_threshold=THRESHOLD).out}
'''


def _project(tmp_path, store_url, files, threshold="1"):
    project = new_project(tmp_path / "project", store_url, SCORES.replace("THRESHOLD", threshold))
    (project.root / "images").mkdir()
    for name, text in files.items():
        (project.root / "images" / name).write_text(text)
    return project


def test_failures_within_the_threshold_complete_the_run_listing_them_and_a_rerun_retries_only_them(
        store_url, tmp_path):
    project = _project(tmp_path, store_url, {"a.jpg": "a", "b.jpg": "bad", "c.jpg": "c"})
    run = project.run("flow.py:scores", "--input", "images=images")
    assert run.code == 0, run.stderr
    assert run.json["status"] == "completed"
    score = run.json["steps"]["score"]
    assert score["partitions"] == {"total": 3, "ran": 2, "reused": 0, "failed": 1}
    failed = score["by_partition"]["b.jpg"]
    assert failed["status"] == "failed" and "ValueError: this image cannot be read" in failed["error"]
    assert failed["log"]["hash"]
    shown = project.cli("runs", "show", run.json["run_id"], as_json=False)
    assert any(line.split()[:2] == ["b.jpg", "failed"] and "this image cannot be read" in line
               for line in shown.stdout.splitlines()), shown.stdout
    log = project.cli("logs", run.json["run_id"], "score", "--partition", "b.jpg", as_json=False)
    assert "scoring bad" in log.stdout, log.stderr
    project.env_extra = {"FIXED": "1"}
    again = project.run("flow.py:scores", "--input", "images=images")
    assert again.code == 0, again.stderr
    statuses = {name: p["status"] for name, p in again.json["steps"]["score"]["by_partition"].items()}
    assert statuses == {"a.jpg": "reused", "b.jpg": "ran", "c.jpg": "reused"}


def test_more_failures_than_a_fraction_allows_fail_the_run_with_its_partition_counts(store_url, tmp_path):
    project = _project(tmp_path, store_url, {"a.jpg": "a", "b.jpg": "bad", "c.jpg": "bad"}, threshold="0.5")
    run = project.run("flow.py:scores", "--input", "images=images")
    assert run.code == 1 and run.json["status"] == "failed"
    score = run.json["steps"]["score"]
    assert "2 of 3 partitions failed, more than its error threshold allows (1)" in score["error"]
    assert score["partitions"] == {"total": 3, "ran": 1, "reused": 0, "failed": 2}
    shown = project.cli("runs", "show", run.json["run_id"], as_json=False)
    said = " ".join(shown.stdout.split())
    assert "1 failed. Step score: 1 of 3 partitions ran, 0 reused, 2 failed." in said, shown.stdout


def test_failures_are_counted_across_the_sub_orchestrations_of_a_large_map(store_url, tmp_path):
    # More than PARTITIONS_PER_CHILD (100) partitions: they run in two child orchestrations, each returning its failures.
    files = {f"p{i:03}.jpg": "bad" if i in (50, 103) else str(i) for i in range(105)}
    project = _project(tmp_path, store_url, files, threshold="1")
    run = project.run("flow.py:scores", "--input", "images=images")
    assert run.code == 1 and run.json["status"] == "failed"
    score = run.json["steps"]["score"]
    assert score["partitions"] == {"total": 105, "ran": 103, "reused": 0, "failed": 2}
    assert score["error"].startswith("2 of 105 partitions failed, more than its error threshold allows (1); "
                                     "partition p050.jpg failed: ValueError: this image cannot be read")
    assert sorted(n for n, p in score["by_partition"].items() if p["status"] == "failed") == ["p050.jpg", "p103.jpg"]


def test_a_mapped_steps_duration_is_its_wall_time_with_its_partitions_summed_time_beside_it(store_url, tmp_path):
    project = _project(tmp_path, store_url, {f"p{i}.jpg": str(i) for i in range(4)})
    run = project.run("flow.py:scores", "--input", "images=images")
    assert run.code == 0, run.stderr
    score = run.json["steps"]["score"]
    parts = score["by_partition"].values()
    assert score["summed_duration_s"] == round(sum(p["duration_s"] for p in parts), 6)
    # The wall time runs from the step's start to its end, so it covers its longest partition.
    assert score["duration_s"] >= max(p["duration_s"] for p in parts)
