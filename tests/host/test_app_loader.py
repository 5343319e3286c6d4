"""load_app finds and indexes the function app as the Python worker does."""
from pathlib import Path

import pytest

from durapipe.core.errors import AppLoadError
from durapipe.host.app_loader import load_app, resolve_script_file


def test_functions_are_indexed_by_name_with_trigger_types(loaded_app):
    assert loaded_app.functions["double"].trigger_type == "activityTrigger"
    assert loaded_app.functions["fan_out_in"].trigger_type == "orchestrationTrigger"
    assert loaded_app.functions["http_start"].trigger_type == "httpTrigger"
    assert loaded_app.functions["http_start"].client_binding_name == "client"


def test_renamed_activity_is_found_by_function_and_python_name(loaded_app):
    assert loaded_app.find("renamed_activity", "activityTrigger").python_name == "renamed_impl"
    assert loaded_app.find("renamed_impl", "activityTrigger").name == "renamed_activity"


def test_by_trigger_lists_orchestrators_with_their_generators(loaded_app):
    orchestrators = loaded_app.by_trigger("orchestrationTrigger")
    assert all(o.orchestrator_function is not None for o in orchestrators)


def test_script_file_comes_from_the_setting(monkeypatch):
    monkeypatch.setenv("PYTHON_SCRIPT_FILE_NAME", "main.py")
    assert resolve_script_file() == "main.py"


def test_invalid_script_file_name_is_rejected():
    with pytest.raises(AppLoadError, match="invalid"):
        resolve_script_file("../evil.py")


def test_missing_entry_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(AppLoadError, match="does not exist"):
        load_app(tmp_path, "function_app.py")


def test_module_without_an_app_is_rejected(tmp_path: Path):
    (tmp_path / "noapp_entry.py").write_text("x = 1\n")
    with pytest.raises(AppLoadError, match="exactly one"):
        load_app(tmp_path, "noapp_entry.py")
