"""SIGKILL of the host (`durapipe run`, only its own process) in the middle of a fan-out, then `resume`:
it continues from its journal, no partition that had finished runs again, no partition runs twice at once,
and the outputs are byte-identical to those of a run never interrupted."""
from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from durapipe.store.url import open_store
from tests.e2e.conftest import DURAPIPE, Project, new_project
from tests.e2e.projects import _PREAMBLE
from tests.e2e.test_resume import _wait_for

PARTITIONS = [f"p{i}" for i in range(6)]
# Each partition holds a lock file while it runs: a second execution of it at the same time (a worker that
# outlived its host while `resume` started the partition again) finds the lock taken and says so.
FANOUT = _PREAMBLE + dedent('''\
    import fcntl


    def exclusive(label):
        fd = os.open(os.path.join(os.environ["FANOUT_LOCKS"], label), os.O_CREAT | os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"{label} overlap 0")
        return fd


    @step
    def work(part: Input, out: Output):
        label = "work-" + part.read_text().strip()
        lock = exclusive(label)
        t = started(label)
        time.sleep(0.6)
        out.write_text(part.read_text().upper() * 3)
        finished(label, t)
        os.close(lock)


    @step
    def total(parts: Input, out: Output):
        t = started("total")
        out.write_text("|".join(p.read_text() for p in sorted(parts.iterdir())))
        finished("total", t)


    @pipeline
    def fanout(parts: Input):
        return {"out": total(parts=work.map("part", part=parts).out).out}
    ''')


def _project(root: Path, store_url: str | None) -> Project:
    project = new_project(root, store_url, FANOUT)
    (root / "parts").mkdir()
    for name in PARTITIONS:
        (root / "parts" / f"{name}.txt").write_text(name)
    (root / "locks").mkdir()
    project.env_extra = {"FANOUT_LOCKS": str(root / "locks")}
    return project


def _work_ends(project: Project) -> int:
    return sum(n for label, n in project.ends().items() if label.startswith("work-"))


def _work_starts(project: Project) -> int:
    return sum(n for label, n in project.starts().items() if label.startswith("work-"))


def _committed_partitions(project: Project) -> set[str]:
    """The labels of the partitions whose step record is committed in the store."""
    import json

    store = open_store(project.store_url or str(project.root / ".durapipe"))
    try:
        records = [json.loads(store.get(key)) for key in store.list("steps/")]
    except Exception:  # noqa: BLE001 - the store not created yet, or a record being written: not yet
        return set()
    return {"work-" + r["partition"]["name"].removesuffix(".txt") for r in records if r.get("partition")}


def _output_bytes(project: Project, summary: dict[str, Any]) -> dict[str, bytes]:
    store = open_store(project.store_url or str(project.root / ".durapipe"))
    return {name: store.get(f"artifacts/{ref['hash']}") for name, ref in summary["outputs"].items()}


@pytest.fixture
def uninterrupted(tmp_path_factory) -> dict[str, bytes]:
    project = _project(tmp_path_factory.mktemp("fanout-reference") / "project", None)
    ran = project.run("flow.py:fanout", "--input", "parts=parts", "--max-parallel", "2")
    assert ran.code == 0, ran.stderr
    return _output_bytes(project, ran.json)


def test_a_host_killed_during_a_fan_out_resumes_without_rerunning_or_doubling_a_partition(
        store_url, tmp_path, uninterrupted):
    project = _project(tmp_path / "project", store_url)
    argv = [str(DURAPIPE), "run", "flow.py:fanout", "--input", "parts=parts", "--max-parallel", "2"]
    argv += ["--store", project.store_url] if project.store_url else []
    stderr_path = tmp_path / "run.stderr"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(argv, cwd=project.root, env=project.env, stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True)
    try:
        # Some partitions committed, others running: the middle of the fan-out.
        _wait_for(lambda: len(_committed_partitions(project)) >= 2 and _work_starts(project) > _work_ends(project),
                  "two partitions committed and more running", process)
        os.kill(process.pid, signal.SIGKILL)  # the host alone: its workers must die with it
        process.wait(timeout=30)
        committed_at_kill = _committed_partitions(project)
        assert project.ends()["total"] == 0 and len(committed_at_kill) < len(PARTITIONS), committed_at_kill
        run_id = re.search(r"^run (\S+) started", stderr_path.read_text(), re.MULTILINE).group(1)

        resumed = project.cli("resume", run_id)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # anything of it still alive would be a failure below
        except ProcessLookupError:
            pass

    assert resumed.code == 0, resumed.stderr
    assert resumed.json["status"] == "completed"
    starts, ends = project.starts(), project.ends()
    # A partition that ran but had not committed when the host died may run again (at least once);
    # one that had committed never does.
    assert all(starts[label] == 1 for label in committed_at_kill), (committed_at_kill, starts)
    assert all(ends[f"work-{name}"] == 1 for name in PARTITIONS) and ends["total"] == 1, ends
    assert not [line for line in project.log_lines() if line[1] == "overlap"], project.log_lines()
    assert _output_bytes(project, resumed.json) == uninterrupted
