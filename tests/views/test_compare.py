"""durapipe.views.compare: two run records side by side."""
from durapipe.views.compare import compare_runs, side_by_side


def _run(run_id: str, steps: dict, params: dict | None = None) -> dict:
    return {"run_id": run_id, "pipeline": "p", "params": params or {}, "steps": steps}


def test_parameters_are_marked_same_or_different_by_key():
    assert side_by_side({"lr": 0.1, "seed": 1}, {"lr": 0.2, "seed": 1}) == {
        "lr": {"a": 0.1, "b": 0.2, "same": False}, "seed": {"a": 1, "b": 1, "same": True}}


def test_a_step_with_the_same_fingerprint_is_the_same_and_has_no_changes():
    step = {"status": "ran", "fingerprint": "f" * 64}
    compared = compare_runs(_run("a", {"train": step}), _run("b", {"train": {**step, "status": "reused"}}))
    assert compared["steps"]["train"]["same"] and compared["steps"]["train"]["changes"] == []


def test_a_step_changed_by_a_parameter_says_which_parameter():
    a = {"status": "ran", "fingerprint": "1" * 64, "components": {"params": {"lr": 0.1}}}
    b = {"status": "ran", "fingerprint": "2" * 64, "components": {"params": {"lr": 0.2}}}
    changes = compare_runs(_run("a", {"train": a}), _run("b", {"train": b}))["steps"]["train"]["changes"]
    assert len(changes) == 1 and "lr" in changes[0]


def test_a_step_only_in_one_run_names_that_run():
    compared = compare_runs(_run("a", {}), _run("b", {"extra": {"status": "ran", "fingerprint": "3" * 64}}))
    assert compared["steps"]["extra"]["changes"] == ["the step is only in run b"]
