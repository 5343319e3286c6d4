"""The pure dataflow decisions the orchestrator wires to Durable tasks."""
from durapipe.model.contracts import FAILED, NOT_RUN, RAN, REUSED, RUNNING, WAITING
from durapipe.engine.scheduling import (Dataflow, chunks, producer_of, readers_of, segment_dependencies, segments,
                                        step_inputs, step_parents)


def _spec(edges: dict[str, list[str]]) -> dict:
    steps = []
    for name, parents in edges.items():
        inputs = {f"in_{p}": {"step": p, "output": "out"} for p in parents} or {"raw": {"input": "raw"}}
        steps.append({"name": name, "inputs": inputs, "outputs": ["out"]})
    return {"steps": steps}


DIAMOND = _spec({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})


def test_only_steps_without_unmet_inputs_are_ready_at_start():
    flow = Dataflow.from_spec(DIAMOND, {})
    assert flow.take_ready(10) == ["a"]
    assert flow.states["a"] == RUNNING and flow.states["b"] == WAITING


def test_completing_a_step_releases_its_children_but_not_a_join_with_pending_parents():
    flow = Dataflow.from_spec(DIAMOND, {})
    flow.take_ready(10)
    flow.complete("a", {"out": "A"})
    assert flow.take_ready(10) == ["b", "c"]
    flow.complete("b", {"out": "B"})
    assert flow.take_ready(10) == []
    flow.complete("c", {"out": "C"})
    assert flow.take_ready(10) == ["d"]


def test_parallelism_limit_caps_the_steps_taken():
    flow = Dataflow.from_spec(_spec({"a": [], "b": [], "c": []}), {})
    assert flow.take_ready(2) == ["a", "b"]
    assert flow.take_ready(0) == []
    assert flow.take_ready(5) == ["c"]


def test_reused_steps_count_as_done_from_the_start():
    flow = Dataflow.from_spec(DIAMOND, {"a": {"out": "A"}, "b": {"out": "B"}})
    assert flow.states["a"] == REUSED
    assert flow.take_ready(10) == ["c"]


def test_a_failure_stops_new_steps_and_leaves_the_rest_not_run():
    flow = Dataflow.from_spec(DIAMOND, {})
    flow.take_ready(10)
    flow.complete("a", {"out": "A"})
    flow.take_ready(1)
    flow.fail("b")
    assert flow.take_ready(10) == []
    flow.finish()
    assert flow.states == {"a": RAN, "b": FAILED, "c": NOT_RUN, "d": NOT_RUN}


def test_step_inputs_bind_pipeline_inputs_and_upstream_outputs():
    step = {"inputs": {"raw": {"input": "raw"}, "x": {"step": "a", "output": "out"}, "opt": {"input": "missing"}}}
    assert step_inputs(step, {"raw": "R"}, {"a": {"out": "A"}}) == {"raw": "R", "x": "A"}


def test_chunks_cover_every_item_in_order():
    assert chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]


def test_segments_cut_the_steps_still_to_run_in_spec_order():
    spec = _spec({"a": [], "b": ["a"], "c": ["b"], "d": ["c"], "e": ["d"]})
    assert segments(spec, {"a"}, 2) == [["b", "c"], ["d", "e"]]


def test_a_segment_depends_on_the_earlier_segments_it_reads():
    spec = _spec({"a": [], "b": [], "c": ["a"], "d": ["b", "c"]})
    assert segment_dependencies(spec, [["a", "b"], ["c"], ["d"]]) == [set(), {0}, {0, 1}]


def test_a_segment_flow_takes_parents_outside_it_as_resolved():
    spec = _spec({"a": [], "b": ["a"], "c": ["b"]})
    segment = {"steps": [s for s in spec["steps"] if s["name"] in ("b", "c")]}
    flow = Dataflow.from_spec(segment, {"a": {"out": "A"}})
    assert flow.take_ready(5) == ["b"]
    assert flow.outputs["a"] == {"out": "A"}


def test_a_reopened_producer_runs_before_its_reopened_reader_and_before_readers_still_waiting():
    # a reused at planning; b and c read it; b failed (its input was lost), c still waits for a slot.
    spec = {"steps": [s for s in DIAMOND["steps"] if s["name"] != "a"]}
    flow = Dataflow.from_spec(spec, {"a": {"out": "A"}}, order=["a", "b", "c", "d"])
    assert flow.take_ready(1) == ["b"]
    flow.states["b"] = FAILED
    steps = {s["name"]: s for s in DIAMOND["steps"]}
    for name in ("a", "b"):
        flow.reopen(name, step_parents(steps[name]), readers_of(steps, name))
    assert flow.states["a"] == WAITING and flow.take_ready(10) == ["a"]
    flow.complete("a", {"out": "A2"})
    assert flow.take_ready(10) == ["b", "c"]
    flow.complete("b", {"out": "B"})
    flow.complete("c", {"out": "C"})
    assert flow.take_ready(10) == ["d"] and not flow.failed


def test_a_reopened_step_whose_parents_are_done_is_ready_at_once_and_its_waiting_readers_wait_again():
    flow = Dataflow.from_spec(DIAMOND, {})
    flow.take_ready(10)
    flow.complete("a", {"out": "A"})
    assert flow.take_ready(1) == ["b"]
    flow.complete("b", {"out": "B"})
    steps = {s["name"]: s for s in DIAMOND["steps"]}
    flow.reopen("b", step_parents(steps["b"]), readers_of(steps, "b"))
    assert flow.take_ready(10) == ["c", "b"]
    flow.complete("c", {"out": "C"})
    assert flow.take_ready(10) == []  # d waits for b again
    flow.complete("b", {"out": "B2"})
    assert flow.take_ready(10) == ["d"]


def test_the_producer_of_an_input_is_its_step_and_output_or_none_for_a_run_input():
    steps = {s["name"]: s for s in DIAMOND["steps"]}
    assert producer_of(steps["b"], "in_a") == ("a", "out") and producer_of(steps["a"], "raw") is None
    assert readers_of(steps, "a") == ["b", "c"] and step_parents(steps["d"]) == {"b", "c"}
