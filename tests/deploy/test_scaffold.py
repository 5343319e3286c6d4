"""durapipe/deploy/scaffold.py and azure.yaml: what `azd up` reads, in the repository and in a new project."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from durapipe.deploy.scaffold import azd_name, azure_yaml, write_deployment_files
from durapipe.core.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
REPO_PACKAGE_COMMAND = ("cd pipelines && durapipe package --out ../build/app "
                        "--parameters ../infra/blob-triggers.parameters.json")


def test_azure_yaml_deploys_the_packaged_app_as_a_python_function_app():
    config = yaml.safe_load(azure_yaml("churn"))
    assert config["name"] == "churn"
    assert config["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert config["services"] == {"app": {"project": "build/app", "language": "python", "host": "function"}}
    assert config["hooks"]["prepackage"]["run"] == "durapipe package --out build/app"


def test_the_blob_subscriptions_are_deployed_after_the_code_from_the_packages_parameters_file():
    run = yaml.safe_load(azure_yaml("churn"))["hooks"]["postdeploy"]["run"]
    assert "--template-file infra/modules/blob-subscriptions.bicep" in run
    assert "--parameters @infra/blob-triggers.parameters.json" in run
    assert 'appName="$AZURE_FUNCTION_APP_NAME" topicName="$AZURE_EVENTGRID_TOPIC_NAME"' in run
    outputs = (ROOT / "infra" / "main.bicep").read_text()
    assert "output AZURE_FUNCTION_APP_NAME " in outputs and "output AZURE_EVENTGRID_TOPIC_NAME " in outputs


def test_the_repository_azure_yaml_packages_the_example_project():
    assert (ROOT / "azure.yaml").read_text() == azure_yaml("durapipe", package_command=REPO_PACKAGE_COMMAND)
    assert (ROOT / "pipelines" / "pyproject.toml").is_file()


def test_a_new_project_gets_azure_yaml_and_the_same_bicep_as_the_repository(tmp_path):
    written = write_deployment_files(tmp_path / "my_project")
    relative = {p.relative_to(tmp_path / "my_project").as_posix() for p in written}
    bicep = {p.relative_to(ROOT).as_posix() for p in (ROOT / "infra").rglob("*.bicep")}
    assert relative == {"azure.yaml", "infra/main.parameters.json", ".gitignore", *bicep}
    for name in bicep:
        assert (tmp_path / "my_project" / name).read_bytes() == (ROOT / name).read_bytes()
    assert yaml.safe_load((tmp_path / "my_project" / "azure.yaml").read_text())["name"] == "my-project"


def test_existing_deployment_files_are_never_overwritten(tmp_path):
    (tmp_path / "azure.yaml").write_text("name: mine\n")
    with pytest.raises(UsageError, match="azure.yaml already exists"):
        write_deployment_files(tmp_path)
    assert (tmp_path / "azure.yaml").read_text() == "name: mine\n"
    assert not (tmp_path / "infra").exists()


@pytest.mark.parametrize(("folder", "name"), [("Churn_Model 2", "churn-model-2"), ("___", "durapipe-app")])
def test_azd_names_are_lower_case_letters_digits_and_hyphens(folder, name):
    assert azd_name(folder) == name


def test_the_gitignore_keeps_out_build_output_the_parameters_file_and_azd_state(tmp_path):
    (tmp_path / ".gitignore").write_text(".durapipe/\nbuild/\n")
    write_deployment_files(tmp_path)
    assert (tmp_path / ".gitignore").read_text().splitlines() == [
        ".durapipe/", "build/", "infra/blob-triggers.parameters.json", ".azure/"]
