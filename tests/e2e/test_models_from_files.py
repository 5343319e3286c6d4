"""A pretrained model registered from files, with its metrics, and lineage saying so (issue 35, item 5)."""
from __future__ import annotations

import json

from durapipe import api
from durapipe.store.url import open_store
from tests.e2e.conftest import new_project


def test_models_register_path_makes_a_version_from_a_file_with_lineage_saying_so(tmp_path, store_url):
    project = new_project(tmp_path / "project", store_url)
    project.write("pretrained.bin", "weights")
    registered = project.cli("models", "register", "clf", "--path", "pretrained.bin", "--metrics", '{"auc": 0.9}')
    assert registered.code == 0, registered.stderr
    assert registered.json["version"] == 1 and registered.json["champion"] == 1 and registered.json["new"]
    shown = project.cli("models", "show", "clf")
    assert shown.code == 0, shown.stderr
    text = json.dumps(shown.json)
    assert '"auc": 0.9' in text
    lineage = project.cli("lineage", "model:clf:1")
    assert lineage.code == 0, lineage.stderr
    assert lineage.json["source"] == {"kind": "files", "path": str((project.root / "pretrained.bin").resolve())}
    again = project.cli("models", "register", "clf", "--path", "pretrained.bin")
    assert again.code == 0 and again.json["version"] == 1 and not again.json["new"]


def test_the_python_api_registers_a_model_folder(tmp_path, store_url):
    project = new_project(tmp_path / "project", store_url)
    folder = tmp_path / "pretrained"
    folder.mkdir()
    (folder / "weights.bin").write_text("w")
    store = open_store(store_url or str(project.root / ".durapipe"))
    entry = api.register_model_files("clf", folder, metrics={"auc": 0.5}, store=store)
    assert entry["version"] == 1 and entry["outputs"]["model"]["kind"] == "dir"
    assert entry["source"] == {"kind": "files", "path": str(folder.resolve())}
