"""The model registry through the real `durapipe` command: register a run, promote, list and show, on every store."""
from __future__ import annotations

import pytest

from durapipe.store.url import open_store
from tests.e2e.projects import TRAIN, TRAIN_DEFINITIONS, TRAIN_PYPROJECT

TARGET = "flow.py:train"


@pytest.fixture
def trainer(make_project, store_url):
    project = make_project(store_url, TRAIN)
    project.write("pyproject.toml", TRAIN_PYPROJECT)
    project.write("defs.py", TRAIN_DEFINITIONS)
    return project


def _run(project, quality: float) -> str:
    done = project.run(TARGET, "--param", f"quality={quality}")
    assert done.code == 0, done.stderr
    return done.json["run_id"]


def test_registering_a_run_makes_a_version_and_the_declared_policy_picks_the_champion(trainer):
    good, worse = _run(trainer, 0.8), _run(trainer, 0.6)
    first = trainer.cli("models", "register", good, "clf")
    second = trainer.cli("models", "register", worse, "clf")
    assert first.code == 0 and second.code == 0, first.stderr + second.stderr
    assert (first.json["version"], first.json["champion"]) == (1, 1)
    assert (second.json["version"], second.json["champion"], second.json["new"]) == (2, 1, True)


def test_registering_the_same_run_again_returns_its_version(trainer):
    run = _run(trainer, 0.8)
    trainer.cli("models", "register", run, "clf")
    again = trainer.cli("models", "register", run, "clf")
    assert again.code == 0 and (again.json["version"], again.json["new"]) == (1, False)


def test_promote_moves_the_champion_and_show_and_list_report_it(trainer):
    trainer.cli("models", "register", _run(trainer, 0.8), "clf")
    trainer.cli("models", "register", _run(trainer, 0.6), "clf")
    promoted = trainer.cli("models", "promote", "clf", "2")
    assert promoted.code == 0 and promoted.json == {"model": "clf", "champion": 2}
    shown = trainer.cli("models", "show", "clf").json
    assert shown["champion"] == 2 and [v["metrics"]["score"] for v in shown["versions"]] == [0.8, 0.6]
    assert [(m["name"], m["champion"], m["versions"]) for m in trainer.cli("models", "list").json] == [("clf", 2, 2)]
    assert [(v["version"], v["champion"]) for v in trainer.cli("models", "list", "clf").json] == [(1, False), (2, True)]


def test_promoting_a_version_that_does_not_exist_is_one_sentence(trainer):
    done = trainer.cli("models", "promote", "clf", "3", as_json=False)
    assert done.code == 1 and done.stderr.strip() == "error: Model clf has no version 3."


def _run_registering(project, quality: float):
    done = project.run(TARGET, "--param", f"quality={quality}", "--register-model", "clf")
    assert done.code == 0, done.stderr
    return done


def test_a_run_that_does_not_beat_the_champion_records_why_and_runs_show_says_it(trainer):
    _run_registering(trainer, 0.8)
    done = _run_registering(trainer, 0.6)
    decision = "score 0.6 did not beat the champion's 0.8 (max, min_gain 0)"
    assert done.json["registered"] is None
    assert done.json["registration"] == {"model": "clf", "version": None, "decision": decision}
    assert trainer.cli("runs", "show", done.json["run_id"]).json["registration"]["decision"] == decision
    shown = trainer.cli("runs", "show", done.json["run_id"], as_json=False)
    assert f"model clf: {decision}" in shown.stdout


def test_a_misspelled_metric_records_what_was_there_instead(trainer):
    trainer.write("defs.py", TRAIN_DEFINITIONS.replace('metric="score"', 'metric="scor"'))
    done = _run_registering(trainer, 0.8)
    assert done.json["registration"]["decision"] == "metric scor is not in output metrics, which holds: score"
    assert trainer.cli("models", "list").json == []


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_a_truncated_champion_pointer_reads_as_no_champion_with_one_warning_and_promote_rewrites_it(trainer):
    trainer.cli("models", "register", _run(trainer, 0.8), "clf")
    store = open_store(trainer.store_url or str(trainer.root / ".durapipe"))
    store.put("models/clf/champion.json", store.get("models/clf/champion.json")[:10])
    for command in (("models", "list"), ("models", "list", "clf"), ("models", "show", "clf")):
        done = trainer.cli(*command)
        assert done.code == 0, done.stderr
        (warning,) = _lines(done.stderr)
        assert "models/clf/champion.json" in warning and "corrupt" in warning and "Traceback" not in warning
    assert trainer.cli("models", "show", "clf").json["champion"] is None
    promoted = trainer.cli("models", "promote", "clf", "1")
    assert promoted.code == 0 and promoted.json == {"model": "clf", "champion": 1}, promoted.stderr
    listed = trainer.cli("models", "list")
    assert [(m["name"], m["champion"]) for m in listed.json] == [("clf", 1)] and listed.stderr == ""
