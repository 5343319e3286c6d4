"""The module -> distribution map is remembered across processes only while nothing installed changed."""
from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from durapipe.cache import distributions


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An import-path folder of our own in front, and a user cache folder of our own."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("DURAPIPE_HOME", str(tmp_path / "home"))
    return folder


def install(site: Path, name: str, version: str, module: str) -> Path:
    """A distribution as pip leaves it: the module, and a NAME-VERSION.dist-info folder naming it."""
    (site / module).mkdir(exist_ok=True)
    (site / module / "__init__.py").write_text("")
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"  # as pip names it
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{module}\n")
    return info


class Counting:
    """importlib.metadata's own answer, counting how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, list[str]]:
        self.calls += 1
        return importlib.metadata.packages_distributions()


def later() -> float:
    """A clock a minute ahead: everything the test wrote counts as settled (RACY_WINDOW_S ago); the racy case is its own test."""
    return time.time() + 60


def test_the_map_is_importlib_metadatas_own(site: Path) -> None:
    assert distributions.packages_distributions(clock=later) == importlib.metadata.packages_distributions()
    # Read back from the cache file, it is still the same.
    assert distributions.packages_distributions(clock=later) == importlib.metadata.packages_distributions()


def test_an_unchanged_import_path_is_answered_from_the_cache(site: Path) -> None:
    compute = Counting()
    first = distributions.packages_distributions(compute, clock=later)
    second = distributions.packages_distributions(compute, clock=later)
    assert compute.calls == 1
    assert first == second


def test_installing_upgrading_and_removing_a_distribution_are_seen(site: Path) -> None:
    compute = Counting()
    assert "fakemod" not in distributions.packages_distributions(compute, clock=later)
    old = install(site, "fakedist", "1.0", "fakemod")
    assert distributions.packages_distributions(compute, clock=later)["fakemod"] == ["fakedist"]
    # An upgrade replaces the metadata folder; the module now comes from another distribution's name.
    for child in old.iterdir():
        child.unlink()
    old.rmdir()
    install(site, "fakedist-renamed", "2.0", "fakemod")
    assert distributions.packages_distributions(compute, clock=later)["fakemod"] == ["fakedist-renamed"]
    assert compute.calls == 3
    for info in site.glob("*.dist-info"):
        (info / "top_level.txt").unlink()
        (info / "METADATA").unlink()
        info.rmdir()
    assert "fakemod" not in distributions.packages_distributions(compute, clock=later)
    # The same metadata on the path as at first: the first answer, remembered, is the right one.
    assert compute.calls == 3


def test_a_metadata_file_edited_in_place_is_seen(site: Path) -> None:
    info = install(site, "fakedist", "1.0", "fakemod")
    compute = Counting()
    assert distributions.packages_distributions(compute, clock=later)["fakemod"] == ["fakedist"]
    # As an editor saves: a new file renamed over the old one, which moves the folder's times.
    staged = info / "top_level.txt.new"
    staged.write_text("othermod\n")
    os.replace(staged, info / "top_level.txt")
    found = distributions.packages_distributions(compute, clock=later)
    assert "othermod" in found and "fakemod" not in found
    assert compute.calls == 2


def test_a_folder_changed_just_now_is_not_trusted(site: Path) -> None:
    # The real clock: the folder was written within RACY_WINDOW_S, so its signature cannot vouch for it yet.
    install(site, "fakedist", "1.0", "fakemod")
    compute = Counting()
    distributions.packages_distributions(compute, clock=time.time)
    distributions.packages_distributions(compute, clock=time.time)
    assert compute.calls == 2
    assert not list((Path(os.environ["DURAPIPE_HOME"]) / "distributions").glob("*.json"))


def test_a_step_importing_a_package_installed_later_gets_a_new_fingerprint(tmp_path: Path) -> None:
    # Across processes, as runs are: the first process fills the cache, later installs must still be seen.
    site = tmp_path / "site"
    site.mkdir()
    (site / "fakemod").mkdir()
    (site / "fakemod" / "__init__.py").write_text("")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    (project / "steps.py").write_text("import fakemod\n\n\ndef train(x):\n    return fakemod, x\n")
    script = (
        "import json, sys; from pathlib import Path\n"
        "from durapipe.cache import distributions\n"
        "from durapipe.fingerprint.fingerprint import step_components\n"
        "distributions._now = lambda: __import__('time').time() + 60\n"
        f"c = step_components((Path({str(project / 'steps.py')!r}), 'train'), Path({str(project)!r}), {{}}, {{}})\n"
        "print(json.dumps(c['env']))\n")
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "DURAPIPE_HOME": str(tmp_path / "home")}

    def env_component() -> dict:
        done = subprocess.run([sys.executable, "-c", script], cwd=project, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    # A module on the path that no distribution claims (copied in by hand).
    assert env_component()["packages"] == {"fakemod": "unknown"}
    assert list((tmp_path / "home" / "distributions").glob("*.json"))  # the map is now cached
    install(site, "fakedist", "1.0", "fakemod")
    assert env_component()["packages"] == {"fakedist": "1.0"}
    # An upgrade under another distribution name.
    for child in (site / "fakedist-1.0.dist-info").iterdir():
        child.unlink()
    (site / "fakedist-1.0.dist-info").rmdir()
    install(site, "fakedist-ng", "2.0", "fakemod")
    assert env_component()["packages"] == {"fakedist-ng": "2.0"}


def test_a_file_created_beside_the_distributions_keeps_the_map(site: Path) -> None:
    # The project's own folder is on the import path: its outputs and notes come and go.
    compute = Counting()
    distributions.packages_distributions(compute, clock=later)
    (site / "notes.txt").write_text("not a distribution")
    (site / "outputs").mkdir()
    distributions.packages_distributions(compute, clock=later)
    assert compute.calls == 1


def test_the_versions_are_importlib_metadatas_own(site: Path) -> None:
    install(site, "fakedist", "1.0", "fakemod")
    for _ in range(2):  # computed, then read back from the cache file
        versions = distributions.installed_versions(clock=later)
        assert versions["fakedist"] == "1.0"
        assert all(importlib.metadata.version(name) == version for name, version in versions.items())


def test_a_version_rewritten_in_place_is_seen(site: Path) -> None:
    info = install(site, "fakedist", "1.0", "fakemod")
    assert distributions.installed_versions(clock=later)["fakedist"] == "1.0"
    folder_times = os.stat(info).st_mtime_ns
    # Written over in place: the folder's own times stay, only METADATA's signature moves.
    with open(info / "METADATA", "w") as out:
        out.write("Metadata-Version: 2.1\nName: fakedist\nVersion: 1.0.post1\n")
    assert os.stat(info).st_mtime_ns == folder_times
    assert distributions.installed_versions(clock=later)["fakedist"] == "1.0.post1"
