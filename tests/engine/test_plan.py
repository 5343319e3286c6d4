"""Planning keeps reused steps out of the orchestrator's payloads; recording restores them, whole, from their commits.

The started run record holds every reused step abridged; the plan result carries only those a
step to run reads (all of them when the record was there before the plan); recording takes the
rest from the record and their components, log and metrics from their commits.
"""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from textwrap import dedent
from typing import Any, Iterator

import pytest

from durapipe.engine.plan import plan_run
from durapipe.engine.record_run import record_run
from durapipe.engine.run_step import run_step
from durapipe.load.targets import load_target
from durapipe.core.errors import NotFoundError
from durapipe.store.records import PLANNED, read_run_record, run_key, step_key
from durapipe.engine.request import build_run_request
from durapipe.store.local import LocalStore

FLOW = dedent('''\
    import durapipe
    from durapipe import Input, Output, pipeline, step

    @step
    def first(out: Output):
        durapipe.log_metric("rows", 3)
        out.write_text("one")

    @step
    def second(a: Input, out: Output):
        out.write_text(a.read_text() + " two")

    @pipeline
    def pair():
        return {"out": second(a=first().out).out}
    ''')


@pytest.fixture
def ran(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A project whose two steps have each run once (committed), and a run request for it."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'pair'\n")
    module = f"pair_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(FLOW)
    spec = load_target(f"{root / module}.py:pair").spec.to_json()
    store = LocalStore(tmp_path / "store")
    first_spec, second_spec = spec["steps"]
    task = {"schema": 1, "run_id": "r0", "pipeline": "pair", "params": {}, "code_root": str(root), "force": False}
    first = run_step(store, {**task, "step": first_spec, "inputs": {}})
    second = run_step(store, {**task, "step": second_spec, "inputs": {"a": first["outputs"]["out"]}})
    request = build_run_request(spec, {}, {}, run_id=f"r-{uuid.uuid4().hex[:8]}", code_root=str(root),
                                trigger={"kind": "cli"})
    yield {"store": store, "request": request, "results": {"first": first, "second": second}}
    sys.modules.pop(module, None)


def _outcome(request: dict[str, Any], plan: dict[str, Any], results: dict[str, Any] | None = None) -> dict[str, Any]:
    """The recording input as histories before the orchestrator left the spec out of it hold it.

    Every step reused at planning, as the orchestrator reports it: the plan's results (or `results`).
    """
    to_run = {s["name"] for s in plan["steps"]}
    outcome = {"schema": 1, "run_id": request["run_id"], "status": "completed",
               "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:00:01+00:00",
               "states": {name: "reused" for name in plan["order"] if name not in to_run},
               "results": plan["reused"] if results is None else results, "timing": {}, "errors": {},
               "inputs": plan["inputs"],
               "request": {k: request.get(k) for k in ("spec", "params", "trigger", "code_root", "force")}}
    if plan.get("reused_in_record"):
        outcome["reused_in_record"] = True
    return outcome


def _spec_less(outcome: dict[str, Any]) -> dict[str, Any]:
    """The same recording input as the orchestrator sends it now: the spec only named, by pipeline and version."""
    spec = outcome["request"]["spec"]
    return {**outcome, "request": {k: v for k, v in outcome["request"].items() if k != "spec"},
            "pipeline": spec["name"], "pipeline_version": spec["version"]}


def _abridged(ran: dict[str, Any], name: str) -> dict[str, Any]:
    return {"step": name, "status": "reused", "fingerprint": ran["results"][name]["fingerprint"],
            "outputs": ran["results"][name]["outputs"], "duration_s": 0.0}


def test_a_plan_that_reuses_every_step_carries_none_and_the_started_record_holds_each_without_its_components(ran):
    plan = plan_run(ran["store"], ran["request"])
    assert plan["reused"] == {} and plan["reused_in_record"] is True
    started = read_run_record(ran["store"], ran["request"]["run_id"])
    assert started["status"] == "running"
    assert started[PLANNED]["reused"] == {name: _abridged(ran, name) for name in ("first", "second")}


def test_a_plan_carries_the_reused_steps_that_a_step_to_run_reads(ran):
    ran["store"].delete(step_key(ran["results"]["second"]["fingerprint"]))
    plan = plan_run(ran["store"], ran["request"])
    assert plan["reused"] == {"first": _abridged(ran, "first")}
    assert [s["name"] for s in plan["steps"]] == ["second"]
    assert read_run_record(ran["store"], ran["request"]["run_id"])[PLANNED]["reused"] == {"first": _abridged(ran, "first")}


def test_planning_a_run_whose_record_is_there_already_carries_every_reused_step(ran):
    # A plan made again for the same run (its activity run twice, a run resumed): the record is the
    # first plan's, so this plan's results travel with it, and recording uses them.
    first = plan_run(ran["store"], ran["request"])
    again = plan_run(ran["store"], ran["request"])
    assert "reused_in_record" not in again
    assert again["reused"] == {name: _abridged(ran, name) for name in ("first", "second")}
    from_record = record_run(ran["store"], _outcome(ran["request"], first))
    recorded = read_run_record(ran["store"], ran["request"]["run_id"])
    assert record_run(ran["store"], _outcome(ran["request"], again)) == from_record
    assert read_run_record(ran["store"], ran["request"]["run_id"]) == recorded
    assert PLANNED not in recorded


def test_recording_is_refused_in_a_sentence_when_the_planned_results_are_not_in_the_run_record(ran):
    plan = plan_run(ran["store"], ran["request"])
    started = read_run_record(ran["store"], ran["request"]["run_id"])
    del started[PLANNED]["reused"]["second"]
    ran["store"].put(run_key(ran["request"]["run_id"]), json.dumps(started).encode())
    with pytest.raises(NotFoundError, match=r"holds the results of the steps it reused, is gone or does not "
                                            r"hold step second\.$"):
        record_run(ran["store"], _outcome(ran["request"], plan))


def test_recording_a_run_restores_the_components_and_metrics_of_steps_reused_at_planning(ran):
    plan = plan_run(ran["store"], ran["request"])
    record_run(ran["store"], _outcome(ran["request"], plan))
    steps = read_run_record(ran["store"], ran["request"]["run_id"])["steps"]
    for name in ("first", "second"):
        assert steps[name]["status"] == "reused"
        assert steps[name]["components"] == ran["results"][name]["components"] is not None
        assert steps[name]["outputs"] == ran["results"][name]["outputs"]
    assert steps["first"]["metrics"] == {"rows": 3}


def test_a_step_whose_commit_is_gone_by_recording_keeps_its_abridged_result(ran):
    plan = plan_run(ran["store"], ran["request"])
    ran["store"].delete(step_key(ran["results"]["first"]["fingerprint"]))
    record_run(ran["store"], _outcome(ran["request"], plan))
    steps = read_run_record(ran["store"], ran["request"]["run_id"])["steps"]
    assert steps["first"]["outputs"] == ran["results"]["first"]["outputs"]
    assert steps["first"]["components"] is None
    assert steps["second"]["components"] == ran["results"]["second"]["components"]


def test_a_recording_input_without_the_spec_writes_the_same_record_as_one_with_it(ran):
    plan = plan_run(ran["store"], ran["request"])
    outcome = _outcome(ran["request"], plan)
    with_spec = record_run(ran["store"], outcome)
    recorded = read_run_record(ran["store"], ran["request"]["run_id"])
    without_spec = record_run(ran["store"], _spec_less(outcome))
    assert without_spec == with_spec
    assert read_run_record(ran["store"], ran["request"]["run_id"]) == recorded
    assert recorded["spec"] == ran["request"]["spec"]


def test_a_recording_input_without_the_spec_is_refused_in_a_sentence_when_the_planned_record_is_gone(ran):
    plan = plan_run(ran["store"], ran["request"])
    ran["store"].delete(run_key(ran["request"]["run_id"]))
    with pytest.raises(NotFoundError, match=r"cannot be recorded: the run record written when it was planned"):
        record_run(ran["store"], _spec_less(_outcome(ran["request"], plan)))


def test_a_recording_input_without_the_spec_is_refused_when_the_planned_record_holds_another_version(ran):
    plan = plan_run(ran["store"], ran["request"])
    outcome = _spec_less(_outcome(ran["request"], plan))
    with pytest.raises(NotFoundError, match=r"is not of pipeline pair at this version\.$"):
        record_run(ran["store"], {**outcome, "pipeline_version": "0" * 64})


def test_the_plan_result_names_every_step_and_carries_the_spec_only_of_steps_that_must_run(ran):
    all_reused = plan_run(ran["store"], ran["request"])
    assert all_reused["order"] == ["first", "second"]
    assert all_reused["steps"] == []
    assert (all_reused["pipeline"], all_reused["version"]) == ("pair", ran["request"]["spec"]["version"])
    ran["store"].delete(step_key(ran["results"]["second"]["fingerprint"]))
    one_to_run = plan_run(ran["store"], {**ran["request"], "run_id": ran["request"]["run_id"] + "-b"})
    assert set(one_to_run["reused"]) == {"first"}
    assert one_to_run["steps"] == [ran["request"]["spec"]["steps"][1]]


def test_a_request_with_its_spec_as_text_plans_as_one_with_the_spec_as_json(ran):
    from durapipe.engine.request import orchestration_input

    as_json = plan_run(ran["store"], ran["request"])
    started = orchestration_input({**ran["request"], "run_id": ran["request"]["run_id"] + "-t"})
    assert isinstance(started["spec"], str) and started["pipeline"] == "pair"
    as_text = plan_run(ran["store"], started)
    assert as_text == as_json
    assert read_run_record(ran["store"], started["run_id"])["spec"] == ran["request"]["spec"]


def test_a_spec_given_as_text_that_this_process_did_not_make_is_read_and_refused_when_it_lies(ran):
    import json

    from durapipe.core.errors import UsageError

    lying = {**ran["request"]["spec"], "name": "other"}  # the version is of the spec named pair
    with pytest.raises(UsageError, match=r"spec says version .* but its content hashes to"):
        plan_run(ran["store"], {**ran["request"], "spec": json.dumps(lying)})


def test_within_one_plan_each_step_is_looked_up_once_and_outside_it_afresh(ran):
    from durapipe.engine.fingerprints import one_code_lookup, step_code

    ref, root = ran["request"]["spec"]["steps"][0]["ref"], ran["request"]["code_root"]
    with one_code_lookup():
        looked_up = step_code(ref, root)
        assert step_code(ref, root) is looked_up
        with one_code_lookup():  # nested: the same plan's lookups
            assert step_code(ref, root) is looked_up
    again = step_code(ref, root)
    assert again is not looked_up and again == looked_up
    assert step_code(ref, root) is not again


def _driven(request: dict[str, Any], instance_id: str | None = None,
            started: str = "2026-01-01T00:00:00+00:00") -> dict[str, Any]:
    """`request` as `pipeline_run` hands it to planning: with the instance that drives it (by default, its run id)."""
    return {**request, "instance": {"id": instance_id or request["run_id"], "started": started}}


def test_a_run_request_carried_by_an_instance_of_another_id_is_refused_and_writes_nothing(ran):
    from durapipe.core.errors import UsageError

    before = sorted(ran["store"].list(""))
    with pytest.raises(UsageError, match=r"a run's id must be the id of the instance that runs it\.$"):
        plan_run(ran["store"], _driven(ran["request"], "hijack1"))
    assert sorted(ran["store"].list("")) == before


def test_a_completed_run_is_never_planned_again_and_its_record_is_untouched(ran):
    from durapipe.core.errors import UsageError

    plan = plan_run(ran["store"], _driven(ran["request"]))
    record_run(ran["store"], _outcome(ran["request"], plan))
    key = run_key(ran["request"]["run_id"])
    before = ran["store"].get(key)
    for started in ("2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"):
        with pytest.raises(UsageError, match=r"already has a record \(completed\)"):
            plan_run(ran["store"], _driven(ran["request"], started=started))
    assert ran["store"].get(key) == before


def test_a_running_run_is_planned_again_by_its_own_execution_only(ran):
    from durapipe.core.errors import UsageError

    plan_run(ran["store"], _driven(ran["request"]))
    again = plan_run(ran["store"], _driven(ran["request"]))  # planning delivered twice, or resumed
    assert "reused_in_record" not in again
    with pytest.raises(UsageError, match=r"another execution of its instance"):
        plan_run(ran["store"], _driven(ran["request"], started="2026-02-01T00:00:00+00:00"))


def test_a_failed_run_marked_running_again_is_planned_by_the_execution_that_resumes_it(ran):
    from durapipe.engine.rerun import mark_running_again

    plan = plan_run(ran["store"], _driven(ran["request"]))
    record_run(ran["store"], {**_outcome(ran["request"], plan), "status": "failed"})
    mark_running_again(ran["store"], ran["request"]["run_id"])
    plan = plan_run(ran["store"], _driven(ran["request"], started="2026-02-01T00:00:00+00:00"))
    assert set(plan["order"]) == {"first", "second"}

