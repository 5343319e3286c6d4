"""An invalid pipeline or bad usage exits 2 with a one-line message and no traceback."""
from __future__ import annotations

import pytest

from tests.e2e import projects

CASES = {
    "unknown step input": (projects.UNKNOWN_INPUT, ["run", "flow.py:broken"], "source"),
    "missing pipeline file": (projects.CHAIN, ["run", "nowhere.py:chain"], "nowhere.py"),
    "unknown pipeline name": (projects.CHAIN, ["run", "flow.py:nothing"], "nothing"),
    "bad parameter type": (projects.TYPED_PARAM, ["run", "flow.py:typed", "--param", "count=many"], "count"),
    "unknown parameter": (projects.TYPED_PARAM, ["run", "flow.py:typed", "--param", "size=2"], "size"),
    "unknown pipeline input": (projects.CHAIN, ["run", "flow.py:chain", "--input", "raw=flow.py"], "raw"),
    "unknown forced step": (projects.CHAIN, ["run", "flow.py:chain", "--force", "nope"], "nope"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_pipeline_exits_2_with_one_line_and_no_traceback(make_project, case):
    pipeline, args, named = CASES[case]
    project = make_project(pipeline=pipeline)

    result = project.cli(*args, as_json=False)

    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and named in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert project.log_lines() == [], "an invalid pipeline executed a step"


def test_a_missing_input_file_exits_2_before_any_run_starts(make_project, store_url):
    project = make_project(store_url, projects.READ_RAW)

    result = project.run("flow.py:read_raw", "--input", "raw=missing.csv")

    assert result.code == 2, (result.stdout, result.stderr)
    assert result.stderr.strip() == f"error: The input 'raw' names {project.root / 'missing.csv'}, which does not exist."
    assert project.cli("runs", "list").json == []
