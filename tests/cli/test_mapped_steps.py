"""Mapped steps through the real CLI: one output entry per partition, by the partition's own name."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

DURAPIPE = str(Path(sys.executable).with_name("durapipe"))

PIPELINE = '''
from durapipe import step, pipeline, Input, Output

@step
def upper(part: Input, out: Output):
    out.write_text(part.read_text().upper())

@pipeline
def shout(parts: Input):
    return {"out": upper.map("part", part=parts).out}
'''


def _run(project: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DURAPIPE_STORE"}
    done = subprocess.run([DURAPIPE, "run", "flows.py:shout", "--input", "parts=parts", "--json"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_partitions_with_the_same_content_each_keep_their_own_name(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mapped-test'\n")
    (tmp_path / "flows.py").write_text(textwrap.dedent(PIPELINE))
    (tmp_path / "parts").mkdir()
    for name, text in [("a.txt", "same"), ("b.txt", "same"), ("c.txt", "other")]:
        (tmp_path / "parts" / name).write_text(text)
    for _ in range(2):  # cold, then with every partition reused
        run = _run(tmp_path)
        manifest = json.loads((tmp_path / ".durapipe" / "artifacts" / run["outputs"]["out"]["hash"]).read_text())
        assert sorted(manifest["files"]) == ["a.txt", "b.txt", "c.txt"]


FAILING = '''
from durapipe import step, pipeline, Input, Output

@step
def upper(part: Input, out: Output):
    text = part.read_text()
    print("upper saw", text)
    if text == "boom":
        raise ValueError("this partition says boom")
    out.write_text(text.upper())

@step
def join(parts: Input, all: Output):
    all.write_text("".join(p.read_text() for p in sorted(parts.iterdir())))

@pipeline
def shout(parts: Input):
    return {"all": join(parts=upper.map("part", part=parts).out).all}
'''


def _project(tmp_path: Path, files: dict, source: str = FAILING) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mapped-test'\n")
    (tmp_path / "flows.py").write_text(textwrap.dedent(source))
    (tmp_path / "parts").mkdir()
    for name, text in files.items():
        (tmp_path / "parts" / name).write_text(text)
    return tmp_path


def _durapipe(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DURAPIPE_STORE"}
    return subprocess.run([DURAPIPE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)


def _run_json(project: Path) -> dict:
    done = _durapipe(project, "run", "flows.py:shout", "--input", "parts=parts", "--json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_the_run_record_keeps_each_partition_with_its_state(tmp_path):
    project = _project(tmp_path, {"a.txt": "a", "b.txt": "b"})
    _run_json(project)
    (project / "parts" / "c.txt").write_text("c")
    run = _run_json(project)
    parts = run["steps"]["upper"]["by_partition"]
    assert {name: p["status"] for name, p in parts.items()} == {"a.txt": "reused", "b.txt": "reused", "c.txt": "ran"}


def test_runs_show_lists_each_partition(tmp_path):
    project = _project(tmp_path, {"a.txt": "a", "b.txt": "b"})
    run = _run_json(project)
    shown = _durapipe(project, "runs", "show", run["run_id"])
    assert shown.returncode == 0, shown.stderr
    assert "step upper, by partition:" in shown.stdout
    assert any(line.split()[:2] == ["a.txt", "ran"] for line in shown.stdout.splitlines())


def test_a_failed_partition_is_named_in_the_run_error(tmp_path):
    project = _project(tmp_path, {"a.txt": "a", "b.txt": "boom"})
    run = _run_json(project)
    assert run["status"] == "failed"
    assert run["error"].startswith("step upper failed: partition b.txt failed: ValueError: this partition says boom")
    assert "map_partitions" not in run["error"]


def test_logs_of_one_partition_print_what_it_printed(tmp_path):
    project = _project(tmp_path, {"a.txt": "a", "b.txt": "b"})
    run = _run_json(project)
    done = _durapipe(project, "logs", run["run_id"], "upper", "--partition", "b.txt")
    assert done.returncode == 0 and done.stdout == "upper saw b\n", done.stderr


def test_logs_of_a_failed_partition_show_its_traceback(tmp_path):
    project = _project(tmp_path, {"a.txt": "a", "b.txt": "boom"})
    run = _run_json(project)
    done = _durapipe(project, "logs", run["run_id"], "upper", "--partition", "b.txt")
    assert done.returncode == 0 and "ValueError: this partition says boom" in done.stdout, done.stderr


def test_logs_of_a_mapped_step_without_a_partition_say_which_to_name(tmp_path):
    project = _project(tmp_path, {"a.txt": "a", "b.txt": "b"})
    run = _run_json(project)
    done = _durapipe(project, "logs", run["run_id"], "upper")
    assert done.returncode == 2 and "--partition NAME (a.txt, b.txt)" in done.stderr


def test_an_unknown_partition_is_a_usage_error_naming_the_partitions(tmp_path):
    project = _project(tmp_path, {"a.txt": "a"})
    run = _run_json(project)
    done = _durapipe(project, "logs", run["run_id"], "upper", "--partition", "z.txt")
    assert done.returncode == 2 and "its partitions are: a.txt." in done.stderr
    assert "Traceback" not in done.stderr


def test_partition_of_a_step_that_is_not_mapped_is_a_usage_error(tmp_path):
    project = _project(tmp_path, {"a.txt": "a"})
    run = _run_json(project)
    done = _durapipe(project, "explain", run["run_id"], "join", "--partition", "a.txt")
    assert done.returncode == 2 and "is not mapped" in done.stderr


def test_explain_of_a_partition_names_what_changed_in_it(tmp_path):
    project = _project(tmp_path, {"a.txt": "a", "b.txt": "b"})
    _run_json(project)
    (project / "parts" / "b.txt").write_text("bee")
    run = _run_json(project)
    changed = _durapipe(project, "explain", run["run_id"], "upper", "--partition", "b.txt", "--json")
    assert changed.returncode == 0, changed.stderr
    answer = json.loads(changed.stdout)
    assert answer["partition"] == "b.txt" and answer["status"] == "ran"
    assert [c["kind"] for c in answer["changes"]] == ["input"]
    same = _durapipe(project, "explain", run["run_id"], "upper", "--partition", "a.txt")
    assert same.returncode == 0 and "was reused" in same.stdout


def test_plan_of_a_pipeline_whose_mapped_step_is_reused_says_reuse(tmp_path):
    project = _project(tmp_path, {"a.txt": "a", "b.txt": "b"})
    run = _run_json(project)
    for args in ([], ["--json"]):
        done = _durapipe(project, "plan", "flows.py:shout", "--input", "parts=parts", *args)
        assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    upper = next(s for s in plan["steps"] if s["step"] == "upper")
    assert upper["action"] == "reuse" and upper["fingerprint"] == run["steps"]["upper"]["fingerprint"]


def test_a_run_indexes_each_partition_so_planning_again_reads_no_partition_commit(tmp_path):
    from durapipe.store.records import StepIndex
    from durapipe.store.local import LocalStore
    from tests.store.test_records import Counted

    project = _project(tmp_path, {"a.txt": "a", "b.txt": "b", "c.txt": "c"})
    run = _run_json(project)
    partitions = [p["fingerprint"] for p in run["steps"]["upper"]["by_partition"].values()]
    assert len(set(partitions)) == 3
    counted = Counted(LocalStore(project / ".durapipe"))
    index = StepIndex(counted, "shout")
    assert all(index.find(fingerprint)["fingerprint"] == fingerprint for fingerprint in partitions)
    # The index itself and one etags call for every entry: no partition's commit is read.
    assert counted.calls == {"get_with_etag": 1, "etags": 1}
