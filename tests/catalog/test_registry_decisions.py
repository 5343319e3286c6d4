"""The registry's decision for a run, as one sentence: what it registered, or why it registered nothing (both stores)."""
from __future__ import annotations

import json

from durapipe.catalog import registry
from durapipe.store.artifacts import put_artifact

POLICY = {"model": "clf", "output": "model", "metrics": None, "metric": "wape", "direction": "min", "min_gain": 0.0}


def _run(store, tmp_path, run_id: str, model: str, metrics: dict, metrics_file: bool = False) -> dict:
    folder = tmp_path / run_id
    folder.mkdir()
    (folder / "model").write_text(model)
    outputs = {"model": put_artifact(store, folder / "model")}
    if metrics_file:
        (folder / "metrics").write_text(json.dumps(metrics))
        outputs["metrics"] = put_artifact(store, folder / "metrics")
    return {"run_id": run_id, "pipeline": "train", "status": "completed", "outputs": outputs,
            "metrics": {} if metrics_file else metrics}


def test_a_first_run_is_registered_as_the_first_champion(store, tmp_path):
    entry, decision = registry.decide_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", {"wape": 0.1579}))
    assert entry["version"] == 1
    assert decision == "registered as version 1, the first champion: wape 0.1579"


def test_a_run_that_does_not_beat_the_champion_says_both_values_and_the_rule(store, tmp_path):
    registry.decide_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", {"wape": 0.1579}))
    entry, decision = registry.decide_from_run(store, POLICY, _run(store, tmp_path, "r2", "m2", {"wape": 0.1625}))
    assert entry is None
    assert decision == "wape 0.1625 did not beat the champion's 0.1579 (min, min_gain 0)"


def test_a_run_that_beats_the_champion_says_by_how_much(store, tmp_path):
    registry.decide_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", {"wape": 0.1625}))
    entry, decision = registry.decide_from_run(store, POLICY, _run(store, tmp_path, "r2", "m2", {"wape": 0.1579}))
    assert entry["version"] == 2 and registry.champion(store, "clf")["version"] == 2
    assert decision == "registered as version 2: wape 0.1579 beat the champion's 0.1625 (min, min_gain 0)"


def test_a_misspelled_metric_names_what_was_logged(store, tmp_path):
    run = _run(store, tmp_path, "r1", "m1", {"wape": 0.16, "mae": 3.2})
    entry, decision = registry.decide_from_run(store, {**POLICY, "metric": "wapee"}, run)
    assert entry is None and registry.list_versions(store, "clf") == []
    assert decision == "metric wapee was not logged by any step; logged: wape, mae"


def test_a_metric_missing_from_the_metrics_output_names_that_output(store, tmp_path):
    run = _run(store, tmp_path, "r1", "m1", {"wape": 0.16}, metrics_file=True)
    _, decision = registry.decide_from_run(store, {**POLICY, "metrics": "metrics", "metric": "wapee"}, run)
    assert decision == "metric wapee is not in output metrics, which holds: wape"


def test_the_champions_own_model_again_is_said_to_be_the_champion(store, tmp_path):
    registry.decide_from_run(store, POLICY, _run(store, tmp_path, "r1", "same", {"wape": 0.16}))
    entry, decision = registry.decide_from_run(store, POLICY, _run(store, tmp_path, "r2", "same", {"wape": 0.15}))
    assert entry is None and decision == "this model is the champion already (version 1)"


def test_deciding_again_for_the_same_run_reports_its_own_registration(store, tmp_path):
    run = _run(store, tmp_path, "r1", "m1", {"wape": 0.16})
    registry.decide_from_run(store, POLICY, run)
    entry, decision = registry.decide_from_run(store, POLICY, run)
    assert entry["version"] == 1 and decision == "registered as version 1, the champion"


def test_a_run_without_the_model_output_names_its_outputs(store, tmp_path):
    run = _run(store, tmp_path, "r1", "m1", {"wape": 0.16})
    _, decision = registry.decide_from_run(store, {**POLICY, "output": "weights"}, run)
    assert decision == "the run has no output weights to register; its outputs: model"
