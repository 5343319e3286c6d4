"""The Azure ML target's settings, cluster names, code bundle and bootstrap (no service needed)."""
from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from durapipe.core.errors import DurapipeError, UsageError
from durapipe.executors.remote import azureml_bootstrap
from durapipe.executors.remote.azureml import WORKSPACE_SETTINGS, AzureMLTarget, bundle_bytes, put_bundle
from durapipe.executors.remote.targets import remote_target
from durapipe.model.spec import StepOptions
from durapipe.store.local import LocalStore
from durapipe.store.url import AZURITE_KEY


def test_azureml_compute_names_a_cluster_of_the_workspace(azureml_settings):
    target = remote_target("azureml:gpu-cluster")
    assert isinstance(target, AzureMLTarget) and target.cluster == "gpu-cluster"
    assert StepOptions(compute="azureml:gpu-cluster").compute == "azureml:gpu-cluster"


def test_missing_workspace_settings_are_named_in_one_sentence():
    with pytest.raises(UsageError) as err:
        AzureMLTarget("gpu", environ={"DURAPIPE_AZUREML_WORKSPACE": "ws"})
    message = str(err.value)
    assert all(name in message for name in WORKSPACE_SETTINGS if name != "DURAPIPE_AZUREML_WORKSPACE")
    assert "DURAPIPE_AZUREML_WORKSPACE," not in message and message.endswith(").")


def test_a_bad_cluster_name_is_refused_by_the_target_too():
    with pytest.raises(DurapipeError, match="2 to 16 letters"):
        AzureMLTarget("-gpu", environ={name: "x" for name in WORKSPACE_SETTINGS})


def test_the_code_bundle_is_the_same_bytes_for_the_same_files_and_leaves_state_out(tmp_path):
    project = tmp_path / "project"
    (project / ".durapipe" / "artifacts").mkdir(parents=True)
    (project / ".durapipe" / "artifacts" / "big").write_bytes(b"x" * 1000)
    (project / "flow.py").write_text("print('hi')\n")
    first = bundle_bytes(str(project))
    (project / "flow.py").touch()
    assert bundle_bytes(str(project)) == first
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert "project/flow.py" in names and "lib/durapipe/executors/remote/entry.py" in names
    assert not [n for n in names if ".durapipe" in n or n.endswith(".pyc")]


def test_the_bootstrap_fetches_and_checks_the_bundle_from_a_local_store(tmp_path):
    store = LocalStore(tmp_path / "store")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "flow.py").write_text("X = 1\n")
    digest = put_bundle(store, str(tmp_path / "project"))
    assert hashlib.sha256(store.get(f"artifacts/{digest}")).hexdigest() == digest
    azureml_bootstrap.fetch_bundle(str(tmp_path / "store"), digest, tmp_path / "job")
    assert (tmp_path / "job" / "project" / "flow.py").read_text() == "X = 1\n"
    (tmp_path / "store" / "artifacts" / digest).write_bytes(b"tampered")
    with pytest.raises(SystemExit, match="does not match its hash"):
        azureml_bootstrap.fetch_bundle(store.url, digest, tmp_path / "again")


def test_the_bootstrap_uses_the_same_public_azurite_key_as_the_stores():
    assert azureml_bootstrap.AZURITE_KEY == AZURITE_KEY
