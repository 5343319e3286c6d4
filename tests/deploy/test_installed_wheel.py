"""durapipe installed from its wheel (no checkout beside it, so no main.py or host.json next to the app
packages) runs and serves a user's project: the app's script root is written from durapipe's templates."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from durapipe.host.session import installed_app_root

pytestmark = pytest.mark.slow  # builds the wheel and installs it into a fresh environment

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 300
# What pyproject.toml packages, and pyproject.toml itself.
SOURCES = ("pyproject.toml", "durapipe", "function_app", "orchestrators", "activities")
# The CLI as the installed console script runs it.
CLI = "import sys; from durapipe.cli.main import entry; sys.argv[0] = 'durapipe'; entry()"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The wheel built from this checkout, installed (without dependencies) into a folder of its own."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so setuptools writes its build/ and egg-info there, not into the checkout.
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--disable-pip-version-check", "-w", str(tmp / "dist"), str(source)],
                           capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=tmp)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp / "dist").glob("durapipe-*.whl"))
    site = tmp / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return {"site": site, "wheel": wheel, "home": tmp / "home"}


def durapipe(installed: dict[str, Any], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DURAPIPE_", "PYTHON", "XDG_"))}
    env.update(PYTHONPATH=str(installed["site"]), HOME=str(installed["home"]))
    return subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180)


def test_the_wheel_has_the_app_packages_but_no_entry_file_or_host_json(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert {"function_app/__init__.py", "durapipe/deploy/templates/main.py.txt"} <= set(names)
    assert "main.py" not in names and "host.json" not in names


def test_an_init_project_runs_and_reuses_with_durapipe_installed_from_its_wheel(installed, tmp_path):
    project = tmp_path / "churn"
    created = durapipe(installed, tmp_path, "init", str(project))
    assert created.returncode == 0, created.stderr
    first = durapipe(installed, project, "run", "pipeline.py:churn", "--json")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert {s["status"] for s in result["steps"].values()} == {"ran"}
    second = json.loads(durapipe(installed, project, "run", "pipeline.py:churn", "--json").stdout)
    assert {s["status"] for s in second["steps"].values()} == {"reused"}
    app_roots = list((installed["home"] / ".cache" / "durapipe" / "app").iterdir())
    assert len(app_roots) == 1
    assert {"host.json", "main.py"} <= {p.name for p in app_roots[0].iterdir()}


def test_the_wheels_packages_come_before_this_checkouts_editable_install(installed):
    """What the run test relies on: with the wheel on PYTHONPATH, no module comes from the checkout."""
    where = subprocess.run([sys.executable, "-c", "import durapipe, function_app, orchestrators, activities; "
                            "print(durapipe.__file__, function_app.__file__, orchestrators.__file__, activities.__file__)"],
                           env={**os.environ, "PYTHONPATH": str(installed["site"])}, cwd=installed["home"].parent,
                           capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert all(path.startswith(str(installed["site"])) for path in where.stdout.split()), where.stdout


def test_the_installed_app_root_holds_the_templates_and_is_written_once(tmp_path, monkeypatch):
    monkeypatch.setenv("DURAPIPE_HOME", str(tmp_path))
    root = installed_app_root()
    assert root == installed_app_root()
    assert (root / "main.py").read_bytes() == (ROOT / "main.py").read_bytes()
    assert json.loads((root / "host.json").read_text()) == json.loads((ROOT / "host.json").read_text())
    assert [p.name for p in root.parent.iterdir()] == [root.name]
