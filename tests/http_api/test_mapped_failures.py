"""The HTTP API lists the failed partitions of a step mapped with an error threshold (issue 35, item 3)."""
from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from tests.e2e.conftest import Project, new_project
from tests.e2e.test_mapped_threshold import SCORES
from tests.http_api.conftest import App, start_app

DEFINITIONS = '''
from flow import scores

from durapipe import Definitions

defs = Definitions(pipelines=[scores])
'''


@pytest.fixture(scope="module", params=["local", "azurite"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, dict]]:
    """A serve over a store holding one completed run of `scores` in which partition b.jpg failed."""
    tmp = tmp_path_factory.mktemp("mapped-failures")
    store_url = str(tmp / "store") if request.param == "local" else \
        f"{request.getfixturevalue('azurite')}/t{uuid.uuid4().hex[:20]}"
    project: Project = new_project(tmp / "project", store_url, SCORES.replace("THRESHOLD", "1"))
    project.write("pyproject.toml", '[project]\nname = "throwaway"\nversion = "0"\n\n'
                                    '[tool.durapipe]\ndefinitions = "defs:defs"\n')
    project.write("defs.py", DEFINITIONS)
    (project.root / "images").mkdir()
    for name, text in {"a.jpg": "a", "b.jpg": "bad"}.items():
        (project.root / "images" / name).write_text(text)
    run = project.run("flow.py:scores", "--input", "images=images")
    assert run.code == 0, run.stderr
    app = start_app(tmp, store_url, project=project.root)
    yield app, run.json
    assert app.stop() == 0


def test_the_run_view_carries_partition_counts_and_not_each_partition(served):
    app, run = served
    status, view = app.get(f"/runs/{run['run_id']}")
    assert status == 200, view
    assert view["status"] == "completed"
    score = view["steps"]["score"]
    assert score["partitions"] == {"total": 2, "ran": 1, "reused": 0, "failed": 1}
    assert "by_partition" not in score


def test_the_failed_partitions_are_listed_with_their_error_and_log(served):
    app, run = served
    status, page = app.get(f"/runs/{run['run_id']}/steps/score/partitions?status=failed")
    assert status == 200, page
    assert page["total"] == 1 and page["next_offset"] is None
    [failed] = page["partitions"]
    assert failed["name"] == "b.jpg" and failed["status"] == "failed"
    assert "this image cannot be read" in failed["error"]
    assert failed["log"]["hash"] == run["steps"]["score"]["by_partition"]["b.jpg"]["log"]["hash"]


def test_the_partitions_of_a_step_come_in_pages_by_name(served):
    app, run = served
    status, first = app.get(f"/runs/{run['run_id']}/steps/score/partitions?limit=1")
    assert status == 200, first
    assert [p["name"] for p in first["partitions"]] == ["a.jpg"] and first["next_offset"] == 1
    status, second = app.get(f"/runs/{run['run_id']}/steps/score/partitions?limit=1&offset=1")
    assert [p["name"] for p in second["partitions"]] == ["b.jpg"] and second["next_offset"] is None
    assert app.get(f"/runs/{run['run_id']}/steps/score/partitions?limit=0")[0] == 400
    assert app.get(f"/runs/{run['run_id']}/steps/nothing/partitions")[0] == 404


def test_a_failed_partitions_log_is_served(served):
    app, run = served
    status, log = app.get(f"/runs/{run['run_id']}/steps/score/log?partition=b.jpg")
    assert status == 200, log
    assert "scoring bad" in (log if isinstance(log, str) else log.decode())
