"""Hostile names on the command line: a one-sentence refusal (exit 2), no traceback, nothing written."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import new_project

NAMES = ["../x", "/etc/passwd", "%2e%2e", "a#b", "a?b", "a\\b", "x" * 2000, "ünï"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return new_project(tmp_path_factory.mktemp("names") / "project", None)


@pytest.mark.parametrize("name", NAMES)
def test_a_hostile_name_is_refused_with_a_sentence(project, name):
    for args in (("runs", "show", name), ("explain", name, "source"), ("models", "list", name),
                 ("run", "flow.py:chain", "--register-model", name), ("run", "flow.py:chain", "--input", f"{name}=x")):
        done = project.cli(*args, as_json=False)
        assert done.code == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.startswith("error: "), (args, done.stderr)
    assert not (project.root / ".durapipe" / "runs").exists()
