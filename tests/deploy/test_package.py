"""durapipe/deploy/package.py: what the package of a project holds, and what it never holds."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from durapipe.deploy.package import MARKER, build_package, package_names
from durapipe.core.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def names_of(project: Path, out: str = "build/app.zip") -> list[str]:
    result = build_package(project, project / out)
    return list(package_names(result.out))


def test_a_folder_without_durapipe_definitions_is_refused_with_a_sentence(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "plain"\n')
    with pytest.raises(UsageError, match=r"is not a durapipe project: it has no pyproject.toml with \[tool.durapipe\]"):
        build_package(tmp_path)
    assert not (tmp_path / "build").exists()


def test_the_package_holds_the_entry_file_host_json_app_packages_library_and_project_code(init_project):
    names = names_of(init_project)
    for name in ("main.py", "host.json", "requirements.txt", "pyproject.toml", "definitions.py", "pipeline.py",
                 "helpers.py", "data/sample.csv", "durapipe/__init__.py", "durapipe/host/app_loader.py",
                 "function_app/__init__.py", "activities/blueprint.py", "orchestrators/pipeline_run.py"):
        assert name in names


def test_the_package_leaves_out_state_virtualenvs_settings_secrets_tests_and_build_output(init_project):
    names = names_of(init_project)
    top = {name.split("/")[0] for name in names}
    assert not top & {".durapipe", ".venv", "myenv", "tests", "build", "infra", "certs"}
    assert not {"local.settings.json", ".env", "helpers_test.py", ".gitignore"} & set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_package_carries_no_secret_of_the_project(init_project):
    out = build_package(init_project).out
    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            assert b"do-not-ship" not in archive.read(name), name


def test_the_packaged_pyproject_is_the_projects_so_the_app_finds_its_definitions(init_project):
    out = build_package(init_project).out
    with zipfile.ZipFile(out) as archive:
        assert archive.read("pyproject.toml") == (init_project / "pyproject.toml").read_bytes()


def test_the_packaged_entry_file_and_host_json_are_the_repositorys(init_project):
    out = build_package(init_project).out
    with zipfile.ZipFile(out) as archive:
        assert archive.read("main.py") == (ROOT / "main.py").read_bytes()
        assert archive.read("host.json") == (ROOT / "host.json").read_bytes()


def test_a_host_json_of_the_project_replaces_the_default(init_project):
    (init_project / "host.json").write_text('{"version": "2.0", "functionTimeout": "01:00:00"}')
    out = build_package(init_project).out
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("host.json"))["functionTimeout"] == "01:00:00"


def test_a_project_file_named_like_a_packaged_package_is_refused(init_project):
    (init_project / "activities").mkdir()
    (init_project / "activities" / "__init__.py").write_text("")
    with pytest.raises(UsageError, match=r"The project has 'activities' at its top level"):
        build_package(init_project)


def test_the_same_project_packages_to_the_same_bytes(init_project, tmp_path):
    first = build_package(init_project, tmp_path / "a.zip").out.read_bytes()
    second = build_package(init_project, tmp_path / "b.zip").out.read_bytes()
    assert first == second


def test_a_folder_package_is_replaced_by_the_next_run(init_project, tmp_path):
    out = tmp_path / "app"
    build_package(init_project, out)
    (init_project / "pipeline_notes.py").write_text("NOTE = 1\n")
    (init_project / "data" / "sample.csv").unlink()
    build_package(init_project, out)
    assert (out / "pipeline_notes.py").is_file() and not (out / "data" / "sample.csv").exists()
    assert (out / MARKER).is_file()


def test_a_folder_that_durapipe_did_not_write_is_never_replaced(init_project, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(UsageError, match="is a folder that `durapipe package` did not write"):
        build_package(init_project, out)
    assert (out / "precious.txt").read_text() == "keep me"


def test_the_blob_triggers_parameters_file_is_written_beside_the_infra(init_project):
    result = build_package(init_project)
    assert result.parameters == init_project / "infra" / "blob-triggers.parameters.json"
    entries = json.loads(result.parameters.read_text())["parameters"]["blobTriggers"]["value"]
    assert entries == [{"name": "arrivals", "function": "blob_arrivals",
                        "subjectBeginsWith": "/blobServices/default/containers/durapipe/blobs/incoming/",
                        "subjectEndsWith": ""}]


def test_packaging_leaves_none_of_the_projects_modules_imported(init_project):
    import sys

    build_package(init_project)
    assert not [name for name, module in list(sys.modules.items())
                if str(getattr(module, "__file__", "") or "").startswith(str(init_project))]
    assert str(init_project) not in sys.path
