"""A plan that reused every step is remembered, and recalled only while everything that decided it holds.

Every run is a new process, as `durapipe run` and `durapipe plan` are, with files counted as
settled at once (the racy case has its own test). The driver says on stderr, for each plan the
process made, which steps' fingerprints the memo gave (a plan is "recalled" when it gave them
all): a run that ran steps plans once more at its end, to leave its plan remembered. Every test
also checks the answer against a plan made with no memo at all.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

DRIVER = """\
import atexit, sys
from durapipe.core import file_signature
file_signature.RACY_WINDOW_S = float(sys.argv[1])
from durapipe.engine import plan_memo
plans = []  # per plan recalling a memo, the steps it took fingerprints from
recall, fingerprint = plan_memo.recall, plan_memo.Recalled.fingerprint
def recalling(*args):
    plans.append([])
    return recall(*args)
def watched(self, step, outputs):
    found = fingerprint(self, step, outputs)
    if found is not None:
        plans[-1].append(step["name"])
    return found
plan_memo.recall, plan_memo.Recalled.fingerprint = recalling, watched
atexit.register(lambda: sys.stderr.write("".join("trusted: " + ",".join(given) + "\\n" for given in plans)))
sys.argv = ["durapipe", *sys.argv[2:]]
from durapipe.cli.main import entry
entry()
"""

STEPS = '''\
from durapipe import Input, Output, step

from helpers import double, unused


@step
def first(data: Input, out: Output, n: int = 3) -> None:
    out.write_text(str(double(n)) + data.read_text())


@step
def second(a: Input, out: Output) -> None:
    out.write_text(a.read_text() + "!")
'''

PIPELINE = '''\
from durapipe import Input, pipeline
from steps import first, second


@pipeline
def p(data: Input, n: int = 3):
    return {"out": second(a=first(data=data, n=n).out).out}
'''


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        (root / "pyproject.toml").write_text("")
        (root / "helpers.py").write_text("def double(x):\n    return 2 * x\n\n\ndef unused():\n    return 0\n")
        (root / "steps.py").write_text(STEPS)
        (root / "pipeline.py").write_text(PIPELINE)
        (root / "data.txt").write_text("rows")
        self.env: dict[str, str] = {}
        self.trusted: set[str] = set()  # the steps whose fingerprints the last command's plan took from its memo
        self.plans = 0  # how many plans that could recall a memo the last command made

    def durapipe(self, *args: str, racy: float = 0.0) -> tuple[dict, str]:
        done = subprocess.run([sys.executable, "-c", DRIVER, str(racy), *args, "--store", str(self.root / "store"),
                               "--json"], cwd=self.root, capture_output=True, text=True, timeout=120,
                              env={**os.environ, **self.env})
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.startswith("trusted: ")]
        self.trusted = {name for name in lines[0].removeprefix("trusted: ").split(",") if name} if lines else set()
        self.plans = len(lines)
        return json.loads(done.stdout), done.stderr

    def run(self, *extra: str, racy: float = 0.0) -> tuple[dict, bool]:
        out, _ = self.durapipe("run", "pipeline.py:p", "--input", "data=data.txt", *extra, racy=racy)
        statuses = {name: s["status"] for name, s in out["steps"].items()}
        return statuses, self.trusted == set(statuses)

    def plan(self, *extra: str) -> tuple[dict, bool]:
        out, _ = self.durapipe("plan", "pipeline.py:p", "--input", "data=data.txt", *extra)
        planned = {row["step"]: (row["action"], row["fingerprint"]) for row in out["steps"]}
        return planned, self.trusted == set(planned)

    def memos(self) -> list[Path]:
        return sorted((self.root / ".durapipe" / "cache" / "plans").glob("*.json"))

    def plan_without_memo(self, *extra: str) -> dict:
        shutil.rmtree(self.root / ".durapipe" / "cache" / "plans", ignore_errors=True)
        planned, recalled = self.plan(*extra)
        assert not recalled
        return planned


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = Project(tmp_path / "proj")
    assert made.run() == ({"first": "ran", "second": "ran"}, False)
    return made


def later() -> None:
    time.sleep(0.05)  # past the filesystem's timestamp granularity


def test_a_no_change_plan_is_remembered_and_recalled_with_the_same_answer(project: Project) -> None:
    assert len(project.memos()) == 1  # the run that ran both steps planned again at its end, and remembered that
    written = project.memos()[0].stat().st_mtime_ns
    assert project.run() == ({"first": "reused", "second": "reused"}, True)
    assert project.plans == 1  # a run that ran nothing plans once
    assert project.run() == ({"first": "reused", "second": "reused"}, True)
    assert project.memos()[0].stat().st_mtime_ns == written  # it says this plan already: not written again
    # `plan` imports no function app, so its import path, part of the key, is its own.
    project.plan()
    recalled, was_recalled = project.plan()
    assert was_recalled
    assert recalled == project.plan_without_memo()


def test_an_edit_of_a_function_a_step_reaches_is_not_recalled(project: Project) -> None:
    project.run()
    before, _ = project.plan()
    assert project.plan()[1]  # remembered
    later()
    (project.root / "helpers.py").write_text("def double(x):\n    return x + x\n\n\ndef unused():\n    return 0\n")
    after, recalled = project.plan()
    assert not recalled
    assert after["first"][0] == "run" and after["first"][1] != before["first"][1]
    assert after == project.plan_without_memo()


def test_an_edit_the_step_does_not_reach_is_checked_and_changes_nothing(project: Project) -> None:
    project.run()
    before, _ = project.plan()
    assert project.plan()[1]  # remembered
    later()
    (project.root / "helpers.py").write_text("def double(x):\n    return 2 * x\n\n\ndef unused():\n    return 1\n")
    after, recalled = project.plan()
    assert not recalled  # the file changed: the closures are looked at again
    assert after == before
    assert project.run() == ({"first": "reused", "second": "reused"}, False)


def test_other_parameters_are_another_plan(project: Project) -> None:
    project.run()
    project.plan()
    assert project.plan()[1]  # remembered
    planned, recalled = project.plan("--param", "n=4")
    assert not recalled and planned["first"][0] == "run"
    assert planned == project.plan_without_memo("--param", "n=4")


def test_other_input_content_is_another_plan(project: Project) -> None:
    project.run()
    project.plan()
    assert project.plan()[1]  # remembered
    later()
    (project.root / "data.txt").write_text("other rows")
    planned, recalled = project.plan()
    assert not recalled and planned["first"][0] == "run"


def test_a_commit_remade_with_other_outputs_is_not_recalled(project: Project) -> None:
    # `first` is not deterministic: its commit is gone (gc) and a run made it again with other bytes.
    # `second`'s inputs are `first`'s outputs, so its fingerprint must follow.
    project.run()
    before, _ = project.plan()
    assert project.plan()[1]  # remembered
    from durapipe.store.records import commit_step_record, step_key
    from durapipe.store.artifacts import put_artifact
    from durapipe.store.url import open_store

    store = open_store(str(project.root / "store"))
    key = step_key(before["first"][1])
    record = json.loads(store.get(key))
    store.delete(key)
    other = project.root / "other-bytes"
    other.write_text("other bytes")
    record["outputs"]["out"] = put_artifact(store, other)
    commit_step_record(store, record)
    after, recalled = project.plan()
    assert not recalled
    assert after["first"] == before["first"]
    assert after["second"][1] != before["second"][1]
    assert after == project.plan_without_memo()


def test_an_upgraded_package_is_not_recalled(project: Project, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "fakemod").mkdir(parents=True)
    (site / "fakemod" / "__init__.py").write_text("VALUE = 1\n")

    def install(version: str) -> None:
        for old in site.glob("*.dist-info"):
            shutil.rmtree(old)
        info = site / f"fakedist-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakedist\nVersion: {version}\n")
        (info / "top_level.txt").write_text("fakemod\n")

    install("1.0")
    project.env = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                   "DURAPIPE_HOME": str(tmp_path / "home")}
    (project.root / "helpers.py").write_text("import fakemod\n\n\ndef double(x):\n    return fakemod.VALUE * 2 * x\n\n\n"
                                             "def unused():\n    return 0\n")
    assert project.run() == ({"first": "ran", "second": "reused"}, False)
    assert project.run() == ({"first": "reused", "second": "reused"}, True)  # the run that ran first left it
    project.plan()
    assert project.plan()[1]  # remembered
    later()
    install("2.0")
    planned, recalled = project.plan()
    assert not recalled and planned["first"][0] == "run"


def test_forced_runs_and_racy_files_write_no_memo(project: Project) -> None:
    shutil.rmtree(project.root / ".durapipe" / "cache" / "plans")
    project.run("--force", "first")
    assert project.memos() == []
    later()
    helpers = project.root / "helpers.py"
    helpers.write_text(helpers.read_text())  # written again: its closures are derived again, from a racy file
    project.run(racy=3600.0)  # every file of the project was written within the racy window
    assert project.memos() == []
    later()
    (project.root / "data.txt").write_text("new rows")
    assert project.run(racy=3600.0) == ({"first": "ran", "second": "ran"}, False)
    assert project.plans == 2 and project.memos() == []  # planned again at its end, and still not remembered


def test_a_failed_run_plans_once_and_remembers_nothing(project: Project) -> None:
    shutil.rmtree(project.root / ".durapipe" / "cache" / "plans")
    later()
    steps = project.root / "steps.py"
    steps.write_text(steps.read_text().replace('out.write_text(a.read_text() + "!")', 'raise ValueError("no")'))
    done = subprocess.run([sys.executable, "-c", DRIVER, "0", "run", "pipeline.py:p", "--input", "data=data.txt",
                           "--store", str(project.root / "store"), "--json"], cwd=project.root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and json.loads(done.stdout)["status"] == "failed"
    assert done.stderr.count("trusted: ") == 1 and project.memos() == []


def test_a_project_keeps_only_its_newest_memos(tmp_path: Path) -> None:
    # The pruning itself is EntryFolder's (tests/cache/test_entries.py); this pins the folder runs write
    # to (the one `Project.memos` reads) and that it keeps KEEP, without 20 runs to fill it.
    from durapipe.engine.plan_memo import KEEP, memos_of

    root = tmp_path / "proj"
    (root / "pipelines").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'memo'\n")
    memos = memos_of({"code_root": str(root / "pipelines")})
    assert memos.folder == root / ".durapipe" / "cache" / "plans"
    keys = [f"{n:02d}" * 32 for n in range(KEEP + 2)]
    for age, key in enumerate(keys):
        memos.write(key, {"steps": []})
        os.utime(memos.path(key), ns=(10**18 + age * 10**9, 10**18 + age * 10**9))
    memos.write(keys[-1], {"steps": []})
    assert [memos.read(key) is not None for key in keys] == [False, False] + [True] * KEEP
    assert len(list(memos.folder.glob("*.json"))) == KEEP


MODULES = {
    "first_step.py": 'from durapipe import Input, Output, step\n\nTAG = "a"\n\n\n@step\n'
                     'def first(data: Input, out: Output) -> None:\n    out.write_text(TAG + data.read_text())\n',
    "second_step.py": 'from durapipe import Input, Output, step\n\n\n@step\n'
                      'def second(a: Input, out: Output) -> None:\n    out.write_text(a.read_text() + "!")\n',
    "third_step.py": 'from durapipe import Input, Output, step\n\nTAG = "c"\n\n\n@step\n'
                     'def third(data: Input, out: Output) -> None:\n    out.write_text(TAG + data.read_text())\n',
}
SEPARATE_PIPELINE = '''\
from durapipe import Input, pipeline
from first_step import first
from second_step import second
from third_step import third


@pipeline
def p(data: Input):
    return {"b": second(a=first(data=data).out).out, "c": third(data=data).out}
'''


@pytest.fixture
def separate(tmp_path: Path) -> Project:
    """Each step in a module of its own: an edit of one module is a change of one step's code."""
    made = Project(tmp_path / "separate")
    (made.root / "steps.py").unlink()
    for name, text in MODULES.items():
        (made.root / name).write_text(text)
    (made.root / "pipeline.py").write_text(SEPARATE_PIPELINE)
    assert made.run() == ({"first": "ran", "second": "ran", "third": "ran"}, False)
    assert made.run() == ({"first": "reused", "second": "reused", "third": "reused"}, True)  # left by the first
    return made


def project_plans_twice(project: Project) -> bool:
    """The last command planned its run, then (a step ran) planned it again to remember it."""
    return project.plans == 2


def edit(project: Project, module: str, old: str, new: str) -> None:
    later()
    path = project.root / module
    path.write_text(path.read_text().replace(old, new))


def test_after_an_edit_of_one_module_only_that_step_is_fingerprinted_again(separate: Project) -> None:
    edit(separate, "third_step.py", 'TAG = "c"', 'TAG = "C"')
    assert separate.run() == ({"first": "reused", "second": "reused", "third": "ran"}, False)
    assert project_plans_twice(separate)  # at its end, with third committed: only third fingerprinted again
    assert separate.run() == ({"first": "reused", "second": "reused", "third": "reused"}, True)
    planned, _ = separate.plan()
    assert planned == separate.plan_without_memo()


def test_a_step_whose_upstream_outputs_changed_is_fingerprinted_again(separate: Project) -> None:
    before, _ = separate.plan()
    edit(separate, "first_step.py", 'TAG = "a"', 'TAG = "A"')  # first's output changes, so second's input does
    assert separate.run() == ({"first": "ran", "second": "ran", "third": "reused"}, False)
    assert separate.trusted == {"third"}  # second's own module is unchanged, but not its input hashes
    assert project_plans_twice(separate)
    assert separate.run() == ({"first": "reused", "second": "reused", "third": "reused"}, True)
    after, _ = separate.plan()
    assert after["second"][1] != before["second"][1] and after["third"] == before["third"]
    assert after == separate.plan_without_memo()


def test_an_edit_with_the_same_output_still_gives_the_downstream_step_its_memo(separate: Project) -> None:
    # first's code changes, its output does not: second's input hashes are those it was fingerprinted with.
    edit(separate, "first_step.py", "out.write_text(TAG + data.read_text())",
         "out.write_text(TAG + data.read_text() + '')")
    assert separate.run() == ({"first": "ran", "second": "reused", "third": "reused"}, False)
    assert separate.trusted == {"third"}  # second waited for first to run, and was found committed then
    assert project_plans_twice(separate)
    assert separate.run() == ({"first": "reused", "second": "reused", "third": "reused"}, True)
    planned, _ = separate.plan()
    assert planned == separate.plan_without_memo()
