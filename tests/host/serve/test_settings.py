"""`durapipe serve` reads local.settings.json as `func start` does."""
import json

import pytest

from durapipe.core.errors import UsageError
from durapipe.host.settings import load_local_settings


def test_values_fill_settings_missing_from_the_environment(tmp_path):
    (tmp_path / "local.settings.json").write_text(json.dumps(
        {"IsEncrypted": False, "Values": {"DURAPIPE_RETRAIN_SCHEDULE": "0 0 3 * * *", "WORKERS": 2}}))
    env = {}
    assert load_local_settings(tmp_path, env) == ["DURAPIPE_RETRAIN_SCHEDULE", "WORKERS"]
    assert env == {"DURAPIPE_RETRAIN_SCHEDULE": "0 0 3 * * *", "WORKERS": "2"}


def test_the_environment_wins_over_the_file(tmp_path):
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"DURAPIPE_STORE": "from-file"}}))
    env = {"DURAPIPE_STORE": "from-env"}
    assert load_local_settings(tmp_path, env) == []
    assert env == {"DURAPIPE_STORE": "from-env"}


def test_no_file_means_no_settings(tmp_path):
    env = {}
    assert load_local_settings(tmp_path, env) == [] and env == {}


def test_a_damaged_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "local.settings.json").write_text("{not json")
    with pytest.raises(UsageError, match="local.settings.json"):
        load_local_settings(tmp_path, {})
