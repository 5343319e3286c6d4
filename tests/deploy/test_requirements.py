"""durapipe/deploy/requirements.py: the package's requirements.txt."""
from __future__ import annotations

from importlib.metadata import version

import pytest

from durapipe.deploy.package import build_package
from durapipe.deploy.requirements import requirements_text
from durapipe.core.errors import UsageError


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


def test_a_project_import_that_no_requirement_brings_is_refused_before_anything_is_written(init_project):
    # pycep is installed here (a test dependency), but nothing the project requires installs it.
    (init_project / "helpers.py").write_text((init_project / "helpers.py").read_text() + "\n\ndef parse():\n"
                                             "    import pycep\n    return pycep\n")
    with pytest.raises(UsageError, match=r"The project's helpers.py imports pycep, from the distribution pycep-parser installed "
                                         r"here, which the project's pyproject.toml \[project\] dependencies"):
        build_package(init_project)
    assert not (init_project / "build" / "app.zip").exists()
    assert not (init_project / "infra" / "blob-triggers.parameters.json").exists()


def test_an_import_brought_in_by_a_listed_requirement_is_accepted(init_project):
    # aiohttp comes with azure-functions-durable, a dependency of durapipe; yaml with nothing: list it.
    (init_project / "helpers.py").write_text("import aiohttp\nimport yaml\n" + (init_project / "helpers.py").read_text())
    (init_project / "requirements.txt").write_text("pyyaml\n")
    assert build_package(init_project).out.is_file()
