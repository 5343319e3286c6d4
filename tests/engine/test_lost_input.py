"""A step whose input cannot be read (corrupt, or gone) fails with `InputLost`, naming the input and its artifact,
before it runs: what the orchestrator reads to have the input made again. A remote job fails with the same sentence."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from durapipe.engine.run_step import InputLost, run_step
from durapipe.executors.remote.base import RemoteJob
from durapipe.executors.remote.entry import run_job
from durapipe.load.targets import load_target
from durapipe.model.lost_input import LostInput, lost_input
from durapipe.store.artifacts import put_artifact

FLOW = dedent('''\
    from durapipe import Input, Output, pipeline, step

    @step
    def upper(src: Input, out: Output):
        out.write_text(src.read_text().upper())

    @pipeline
    def shout(src: Input):
        return {"out": upper(src=src).out}
    ''')


@pytest.fixture
def task(tmp_path: Path, store) -> dict[str, Any]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'shout'\n")
    module = f"shout_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(FLOW)
    spec = load_target(f"{root / module}.py:shout").spec.to_json()
    (tmp_path / "src.txt").write_text("text")
    ref = put_artifact(store, tmp_path / "src.txt")
    yield {"schema": 1, "run_id": "r1", "pipeline": "shout", "step": spec["steps"][0], "params": {},
           "code_root": str(root), "inputs": {"src": ref}, "force": False}
    sys.modules.pop(module, None)


def test_a_corrupt_input_is_quarantined_and_the_step_fails_naming_it_before_it_runs(store, task):
    ref = task["inputs"]["src"]
    store.put(f"artifacts/{ref['hash']}", b"TEXT")
    with pytest.raises(InputLost) as failed:
        run_step(store, task)
    assert lost_input(str(failed.value)) == LostInput("src", ref["hash"])
    assert "is corrupt" in str(failed.value) and f"quarantine/artifacts/{ref['hash']}" in str(failed.value)
    assert store.exists(f"quarantine/artifacts/{ref['hash']}") and not store.exists(f"artifacts/{ref['hash']}")


def test_an_input_gone_from_the_store_fails_the_step_naming_it(store, task):
    ref = task["inputs"]["src"]
    store.delete(f"artifacts/{ref['hash']}")
    with pytest.raises(InputLost) as failed:
        run_step(store, task)
    assert lost_input(str(failed.value)) == LostInput("src", ref["hash"])
    assert f"The artifact {ref['hash']} is not in the" in str(failed.value)


def test_a_remote_job_whose_input_is_corrupt_fails_with_the_same_sentence_before_it_runs_the_step(store, task):
    ref = task["inputs"]["src"]
    store.put(f"artifacts/{ref['hash']}", b"TEXT")
    job = RemoteJob(name="durapipe-r1-upper-lost", step_ref=task["step"]["ref"], params={}, inputs=task["inputs"],
                    outputs=["out"], store_url=store.url, code={}, code_root=task["code_root"], run_id="r1")
    result = run_job(job)
    assert not result["ok"] and lost_input(result["error"]) == LostInput("src", ref["hash"])
    assert result["outputs"] == {} and store.exists(f"quarantine/artifacts/{ref['hash']}")
