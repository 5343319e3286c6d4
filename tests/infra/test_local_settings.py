"""local.settings.json.example: what `func start` uses against Azurite."""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_example_settings_target_azurite_and_the_main_py_entry_file() -> None:
    settings = json.loads((ROOT / "local.settings.json.example").read_text(encoding="utf-8"))
    assert settings["IsEncrypted"] is False
    assert settings["Values"] == {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "PYTHON_SCRIPT_FILE_NAME": "main.py",
        "DURAPIPE_STORE": "http://127.0.0.1:10000/devstoreaccount1/durapipe",
        "DURAPIPE_RETRAIN_SCHEDULE": "0 0 3 * * *",
        "DURAPIPE_INCOMING_PREFIX": "incoming/",
        "AzureWebJobsDisableHomepage": "true",
    }


def test_the_real_local_settings_file_is_not_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "local.settings.json" in ignored
