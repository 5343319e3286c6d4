"""A store that lost a run's last writes (its record still says running) is reconciled from the host's journal."""
from __future__ import annotations

import json
from pathlib import Path

from durapipe.store.url import open_store
from tests.e2e.conftest import new_project


def test_a_running_record_of_a_completed_run_is_recorded_again(store_url, tmp_path):
    project = new_project(tmp_path / "project", store_url)
    done = project.run("flow.py:chain")
    assert done.code == 0, done.stderr
    store = open_store(project.store_url or str(Path(project.root) / ".durapipe"))
    key = f"runs/{done.json['run_id']}.json"
    whole = json.loads(store.get(key))
    store.put(key, json.dumps({**whole, "status": "running", "finished": None, "steps": {}, "outputs": {}}).encode())
    listed = {r["run_id"]: r for r in project.cli("runs", "list").json}
    assert listed[done.json["run_id"]]["status"] == "completed"
    again = json.loads(store.get(key))
    assert again["status"] == "completed" and again["outputs"] == whole["outputs"]
    assert set(again["steps"]) == set(whole["steps"])
