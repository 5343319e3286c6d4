"""The model registry: one version per model artifact, a champion moved by conditional write, on every store."""
from __future__ import annotations

import json
import threading

import pytest

from durapipe.catalog import registry
from durapipe.core.errors import UsageError
from durapipe.store.artifacts import put_artifact

POLICY = {"model": "clf", "output": "model", "metrics": "metrics", "metric": "auc", "direction": "max",
          "min_gain": 0.0}


def _run(store, tmp_path, run_id: str, model: str, auc: float, status: str = "completed") -> dict:
    folder = tmp_path / run_id
    folder.mkdir()
    (folder / "model").write_text(model)
    (folder / "metrics").write_text(json.dumps({"auc": auc}))
    return {"run_id": run_id, "pipeline": "train", "status": status,
            "outputs": {"model": put_artifact(store, folder / "model"),
                        "metrics": put_artifact(store, folder / "metrics")}}


def _concurrently(calls) -> list:
    results: list = [None] * len(calls)

    def work(i, call):
        results[i] = call()

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_first_run_becomes_version_1_and_champion(store, tmp_path):
    entry = registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    assert entry["version"] == 1 and registry.champion(store, "clf")["version"] == 1


def test_a_run_that_does_not_beat_the_champion_registers_nothing(store, tmp_path):
    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    assert registry.register_from_run(store, POLICY, _run(store, tmp_path, "r2", "m2", 0.7)) is None
    assert [v["version"] for v in registry.list_versions(store, "clf")] == [1]


def test_min_gain_and_direction_min_decide_the_champion(store, tmp_path):
    policy = {**POLICY, "direction": "min", "min_gain": 0.05}
    registry.register_from_run(store, policy, _run(store, tmp_path, "r1", "m1", 0.5))
    assert registry.register_from_run(store, policy, _run(store, tmp_path, "r2", "m2", 0.47)) is None
    assert registry.register_from_run(store, policy, _run(store, tmp_path, "r3", "m3", 0.4))["version"] == 2
    assert registry.champion(store, "clf")["run_id"] == "r3"


def test_thirty_concurrent_runs_of_one_model_artifact_register_it_once(store, tmp_path):
    runs = [_run(store, tmp_path, f"r{i}", "the same model", 0.9) for i in range(30)]
    results = _concurrently([lambda r=r: registry.register_from_run(store, POLICY, r) for r in runs])
    assert sum(r is not None for r in results) == 1
    assert [v["version"] for v in registry.list_versions(store, "clf")] == [1]
    assert registry.champion(store, "clf")["version"] == 1


def test_thirty_concurrent_explicit_registrations_of_one_artifact_make_one_version(store, tmp_path):
    runs = [_run(store, tmp_path, f"r{i}", "the same model", 0.9) for i in range(30)]
    results = _concurrently([lambda r=r: registry.register_version(store, POLICY, r) for r in runs])
    assert {entry["version"] for entry, _ in results} == {1} and sum(created for _, created in results) == 1


def test_thirty_concurrent_distinct_models_get_distinct_versions_and_the_best_is_champion(store, tmp_path):
    runs = [_run(store, tmp_path, f"r{i}", f"model {i}", 0.5 + i / 100) for i in range(30)]
    calls = [lambda r=r: registry.promote_if_better(store, POLICY, registry.register_version(store, POLICY, r)[0])
             for r in runs]
    _concurrently(calls)
    versions = registry.list_versions(store, "clf")
    assert sorted(v["version"] for v in versions) == list(range(1, 31))
    assert len({v["outputs"]["model"]["hash"] for v in versions}) == 30
    assert registry.champion(store, "clf")["run_id"] == "r29"


def test_an_explicit_registration_keeps_a_version_that_does_not_become_champion(store, tmp_path):
    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    entry, created = registry.register_version(store, POLICY, _run(store, tmp_path, "r2", "m2", 0.6))
    assert created and entry["version"] == 2
    assert registry.promote_if_better(store, POLICY, entry) is False
    assert registry.champion(store, "clf")["version"] == 1


def test_promote_moves_the_champion_by_hand_and_keeps_the_previous_one(store, tmp_path):
    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    registry.register_version(store, POLICY, _run(store, tmp_path, "r2", "m2", 0.6))
    registry.promote(store, "clf", 2)
    shown = registry.describe_model(store, "clf")
    assert shown["champion"] == 2 and shown["champion_history"]["previous"] == 1
    assert shown["champion_history"]["reason"] == "promoted"


def test_a_run_that_did_not_complete_or_lacks_the_output_is_refused(store, tmp_path):
    with pytest.raises(UsageError, match="only a completed run"):
        registry.register_version(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8, status="failed"))
    with pytest.raises(UsageError, match="has no output 'weights'"):
        registry.register_version(store, {**POLICY, "output": "weights"}, _run(store, tmp_path, "r2", "m", 0.8))


def test_logged_metrics_serve_when_the_policy_names_no_metrics_file(store, tmp_path):
    run = _run(store, tmp_path, "r1", "m1", 0.1)
    run["metrics"] = {"auc": 0.95}
    entry = registry.register_from_run(store, {**POLICY, "metrics": None}, run)
    assert entry["metrics"] == {"auc": 0.95}


def test_list_models_shows_each_model_with_its_champion(store, tmp_path):
    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    registry.register_from_run(store, {**POLICY, "model": "other"}, _run(store, tmp_path, "r2", "m2", 0.7))
    assert [(m["name"], m["champion"], m["value"]) for m in registry.list_models(store)] == [
        ("clf", 1, 0.8), ("other", 1, 0.7)]


def _truncate_champion(store, name: str = "clf") -> bytes:
    truncated = store.get(f"models/{name}/champion.json")[:10]
    store.put(f"models/{name}/champion.json", truncated)
    return truncated


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def test_a_truncated_champion_pointer_reads_as_no_champion_with_one_warning(store, tmp_path, caplog):
    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    _truncate_champion(store)
    assert registry.champion(store, "clf") is None
    (warning,) = _warnings(caplog)
    assert "models/clf/champion.json" in warning and "corrupt" in warning and "\n" not in warning
    assert [(m["name"], m["champion"], m["versions"]) for m in registry.list_models(store)] == [("clf", None, 1)]
    assert registry.describe_model(store, "clf")["champion"] is None


def test_a_truncated_champion_pointer_makes_a_champion_reference_one_sentence(store, tmp_path):
    from durapipe.catalog.references import resolve_reference
    from durapipe.core.errors import DurapipeError

    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    _truncate_champion(store)
    with pytest.raises(DurapipeError, match=r"^The input names model:clf:champion, but model clf has no champion yet"):
        resolve_reference(store, "model:clf:champion")


def test_promote_rewrites_a_truncated_champion_pointer_and_keeps_it_in_quarantine(store, tmp_path):
    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    truncated = _truncate_champion(store)
    assert registry.promote(store, "clf", 1)["version"] == 1
    assert registry.champion(store, "clf")["version"] == 1
    assert registry.describe_model(store, "clf")["champion_history"]["previous"] is None
    assert store.get("quarantine/models/clf/champion.json") == truncated


def test_a_better_run_replaces_a_truncated_champion_pointer(store, tmp_path):
    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    _truncate_champion(store)
    entry = registry.register_from_run(store, POLICY, _run(store, tmp_path, "r2", "m2", 0.7))
    assert entry["version"] == 2 and registry.champion(store, "clf")["version"] == 2


def test_a_pointer_that_is_json_but_names_no_version_is_corrupt_too(store, tmp_path):
    registry.register_from_run(store, POLICY, _run(store, tmp_path, "r1", "m1", 0.8))
    store.put("models/clf/champion.json", b'{"version": "1"}')
    assert registry.champion(store, "clf") is None
    assert registry.promote(store, "clf", 1)["version"] == 1 and registry.champion(store, "clf")["version"] == 1
