"""The model registry through the real `durapipe` command: register a run, promote, list and show, on every store."""
from __future__ import annotations

import pytest

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
