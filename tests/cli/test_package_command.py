"""`durapipe package`: exit codes and what it says."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def durapipe(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "durapipe.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_package_outside_a_durapipe_project_exits_2_with_one_sentence(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "plain"\n')
    done = durapipe("package", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "is not a durapipe project" in done.stderr


def test_package_in_a_project_writes_the_zip_and_names_its_blob_triggers(init_project):
    done = durapipe("package", "--out", "app.zip", cwd=init_project)
    assert done.returncode == 0, done.stderr
    assert (init_project / "app.zip").is_file()
    assert done.stdout.splitlines()[-1].startswith("packaged ")
    assert "blob triggers: blob_arrivals" in done.stdout
