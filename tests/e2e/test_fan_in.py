"""Fan-in through the real `durapipe` command: a list parameter iterated into fits, selected by one step."""
from __future__ import annotations

from tests.e2e.conftest import step_statuses
from tests.e2e.projects import FAN_IN

TARGET = "flow.py:tune"


def test_a_step_receives_a_list_and_a_dict_of_upstream_outputs(make_project, store_url, tmp_path):
    project = make_project(store_url, FAN_IN)
    done = project.run(TARGET)
    assert done.code == 0, done.stderr
    written = project.cli("outputs", done.json["run_id"], "--to", str(tmp_path / "out"))
    assert written.code == 0, written.stderr
    assert (tmp_path / "out" / "best").read_text() == "list [0.1, 1.0, 10.0] best 10.0"
    assert (tmp_path / "out" / "names").read_text() == "first=0.1,last=10.0"


def test_changing_one_element_of_the_iterated_parameter_reruns_only_its_branch(make_project, store_url):
    project = make_project(store_url, FAN_IN)
    project.run(TARGET)
    again = project.run(TARGET, "--param", "Cs=[0.1, 1.0, 20.0]")
    assert again.code == 0, again.stderr
    assert step_statuses(again.json) == {"fit": "reused", "fit_2": "reused", "fit_3": "ran", "select": "ran",
                                         "by_name": "ran"}


def test_a_list_of_another_length_is_a_usage_error(make_project, store_url):
    project = make_project(store_url, FAN_IN)
    done = project.run(TARGET, "--param", "Cs=[1.0]")
    assert done.code == 2 and "iterated over its 3 default values" in done.stderr
