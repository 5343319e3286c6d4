"""A step that re-runs and writes the same bytes leaves its downstream reused (early cutoff)."""
from __future__ import annotations

from tests.e2e.conftest import step_statuses

TARGET = "flow.py:chain"


def test_rerun_step_with_identical_output_leaves_downstream_reused(store_url, make_project):
    project = make_project(store_url)
    first = project.run(TARGET)
    assert first.code == 0, first.stderr
    starts_before = project.starts()
    # A statement that changes transform's code, hence its fingerprint, but not the bytes it writes.
    project.edit("flow.py", '    t = started("transform")\n', '    t = started("transform")\n    unused = 2\n')

    code, summary, stderr = project.run(TARGET)

    assert code == 0, stderr
    assert step_statuses(summary) == {"source": "reused", "transform": "ran", "finish": "reused", "side": "reused"}
    assert dict(project.starts() - starts_before) == {"transform": 1}
    assert summary["steps"]["transform"]["fingerprint"] != first.json["steps"]["transform"]["fingerprint"]
    assert summary["steps"]["transform"]["outputs"] == first.json["steps"]["transform"]["outputs"]
    assert summary["steps"]["finish"]["fingerprint"] == first.json["steps"]["finish"]["fingerprint"]
