"""Fixtures for the local host tests: the fixture app and a running host shared by a module."""
from __future__ import annotations

from pathlib import Path

import pytest

from durapipe.host.app_loader import LoadedApp, load_app
from durapipe.host.local_host import LocalHost

FIXTURE_APP = Path(__file__).parent / "fixture_app"


@pytest.fixture(scope="session")
def loaded_app() -> LoadedApp:
    return load_app(FIXTURE_APP, "main.py")


@pytest.fixture(scope="module")
def host(loaded_app: LoadedApp, tmp_path_factory: pytest.TempPathFactory):
    with LocalHost(loaded_app, tmp_path_factory.mktemp("state"), max_parallel=2) as running:
        yield running
