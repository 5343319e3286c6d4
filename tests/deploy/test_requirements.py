"""durapipe/deploy/requirements.py: the package's requirements.txt."""
from __future__ import annotations

from importlib.metadata import version

import pytest

from durapipe.deploy.package import build_package
from durapipe.deploy.requirements import requirements_text
from durapipe.errors import UsageError


def requirement_lines(project) -> list[str]:
    return [line for line in requirements_text(project).splitlines() if not line.startswith("#")]


def test_requirements_pin_durapipes_dependencies_and_the_projects_but_not_durapipe(init_project):
    (init_project / "requirements.txt").write_text("# the project's own\nCroniter>=2.0  # duplicates durapipe's\n"
                                                   "packaging\n")
    lines = requirement_lines(init_project)
    names = [line.split("==")[0].lower() for line in lines]
    assert "durapipe" not in names  # init's pyproject depends on durapipe: the package carries it
    assert names.count("croniter") == 1 and "packaging" in names
    assert f"azure-functions-durable=={version('azure-functions-durable')}" in lines
    assert f"azure-storage-blob=={version('azure-storage-blob')}" in lines


def test_a_pip_option_in_the_projects_requirements_is_refused(init_project):
    (init_project / "requirements.txt").write_text("-e ../elsewhere\n")
    with pytest.raises(UsageError, match=r"Line 1 of .*requirements.txt \('-e ../elsewhere'\) is a pip option"):
        build_package(init_project)


def test_a_requirement_installed_from_a_url_is_refused(init_project):
    (init_project / "requirements.txt").write_text("mylib @ https://example.org/mylib-1.0.tar.gz\n")
    with pytest.raises(UsageError, match="installs from a URL"):
        requirements_text(init_project)


def test_a_requirement_not_installed_here_is_kept_as_written_with_its_marker(init_project):
    (init_project / "requirements.txt").write_text('not-installed-anywhere>=1.2; python_version >= "3.11"\n')
    assert 'not-installed-anywhere>=1.2; python_version >= "3.11"' in requirement_lines(init_project)
