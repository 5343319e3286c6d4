"""The run request planning accepts: inputs are store keys or artifacts; host paths only from the local CLI."""
import json

import pytest

from durapipe.core.errors import UsageError
from durapipe.engine.request import (LOCAL_RUN_KEY_ENV, CodePolicy, build_run_request, check_run_request,
                                     check_task_code_root, mark_local_request)
from durapipe.store.keys import check_delivery_key

SPEC = {"schema": 1, "name": "tiny", "inputs": {"raw": {"optional": False}}, "params": {},
        "steps": [{"name": "copy", "ref": "tiny:copy", "inputs": {"raw": {"input": "raw"}}, "outputs": ["out"],
                   "params": {}, "options": {"retries": 0, "retry_interval": 5.0, "timeout": None, "cache": True,
                                             "version": None, "compute": "local"}, "map": None}],
        "outputs": {"out": {"step": "copy", "output": "out"}}}
KEY = "local-run-key-0123456789abcdef"


def request(source, kind="cli", deliver=None):
    from durapipe.model.spec import PipelineSpec

    spec = PipelineSpec.from_json(SPEC).to_json()
    return build_run_request(spec, {}, {"raw": source}, run_id="tiny-1", code_root=None,
                             trigger={"kind": kind}, deliver=deliver)


def test_a_store_key_or_an_artifact_input_is_accepted_without_a_mark():
    check_run_request(request({"key": "incoming/a.csv"}))
    check_run_request(request({"artifact": {"hash": "a" * 64, "kind": "file", "size": 3}}))


def test_a_host_path_without_the_local_cli_mark_is_refused():
    with pytest.raises(UsageError, match="path on the host"):
        check_run_request(request({"path": "/etc/passwd"}), KEY)


def test_a_host_path_signed_by_the_local_cli_is_accepted():
    check_run_request(mark_local_request(request({"path": "/data/x.csv"}), KEY), KEY)


def test_a_signed_request_whose_path_was_changed_is_refused():
    signed = mark_local_request(request({"path": "/data/x.csv"}), KEY)
    signed["inputs"]["raw"]["path"] = "/etc/passwd"
    with pytest.raises(UsageError, match="path on the host"):
        check_run_request(signed, KEY)


def test_a_signed_request_is_refused_where_no_local_key_is_held():
    with pytest.raises(UsageError, match="path on the host"):
        check_run_request(mark_local_request(request({"path": "/data/x.csv"}), KEY), None)


def test_a_path_signed_for_a_run_of_another_trigger_is_refused():
    with pytest.raises(UsageError, match="path on the host"):
        check_run_request(mark_local_request(request({"path": "/data/x.csv"}, kind="http"), KEY), KEY)


@pytest.mark.parametrize("key", ["steps/" + "a" * 64 + ".json", "models/m/champion.json", "runs/r.json",
                                 "artifacts/" + "b" * 64, "poison/x.json", "quarantine/x", "pipelines/p/1.json"])
def test_a_delivery_onto_durapipes_own_keys_is_refused(key):
    with pytest.raises(UsageError, match="delivery key"):
        check_run_request(request({"key": "incoming/a.csv"}, deliver={"out": key}))


def test_a_delivery_to_a_plain_key_is_accepted():
    check_run_request(request({"key": "incoming/a.csv"}, deliver={"out": "scores/a.csv"}))
    assert check_delivery_key("scores/a.csv") == "scores/a.csv"


@pytest.mark.parametrize("change", [{"schema": 9}, {"run_id": "../x"}, {"spec": {"name": "x"}},
                                    {"trigger": {"kind": "ftp"}}, {"register": {"model": "../m"}},
                                    {"max_parallel": 10 ** 9}, {"inputs": {"raw": {"url": "http://x"}}}])
def test_a_malformed_request_is_refused_with_a_sentence(change):
    with pytest.raises(UsageError) as caught:
        check_run_request({**request({"key": "incoming/a.csv"}), **change})
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def _with_code_root(code_root, kind="cli"):
    return {**request({"key": "incoming/a.csv"}, kind=kind), "code_root": code_root}


def test_where_an_app_serves_a_code_root_other_than_its_pipelines_folders_is_refused(tmp_path):
    served, other = tmp_path / "project", tmp_path / "elsewhere"
    code = CodePolicy.serving([served])
    check_run_request(_with_code_root(str(served), "http"), code=code)
    check_run_request(_with_code_root(None, "http"), code=code)
    with pytest.raises(UsageError, match="code root"):
        check_run_request(_with_code_root(str(other), "http"), code=code)


def test_an_app_serving_no_pipelines_refuses_every_code_root_it_was_not_signed_for(tmp_path):
    with pytest.raises(UsageError, match="code root"):
        check_run_request(_with_code_root(str(tmp_path), "http"), code=CodePolicy.serving([]))


def test_the_library_called_directly_accepts_any_code_root(tmp_path):
    check_run_request(_with_code_root(str(tmp_path / "anywhere"), "http"))


def test_two_code_policies_in_one_process_each_allow_only_their_own_folders(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first_app, second_app = CodePolicy.serving([first]), CodePolicy.serving([second])
    check_run_request(_with_code_root(str(first), "http"), code=first_app)
    check_run_request(_with_code_root(str(second), "http"), code=second_app)
    with pytest.raises(UsageError, match="code root"):
        check_run_request(_with_code_root(str(second), "http"), code=first_app)
    with pytest.raises(UsageError, match="code root"):
        check_run_request(_with_code_root(str(first), "http"), code=second_app)
    check_run_request(_with_code_root(str(first), "http"), code=first_app)  # unchanged by the other's checks


def test_a_step_task_from_an_unserved_folder_is_refused_unless_the_process_holds_a_local_run_key(tmp_path, monkeypatch):
    code = CodePolicy.serving([tmp_path / "project"])
    monkeypatch.delenv(LOCAL_RUN_KEY_ENV, raising=False)
    check_task_code_root(str(tmp_path / "project"), code=code)
    with pytest.raises(UsageError, match="code root"):
        check_task_code_root(str(tmp_path / "elsewhere"), code=code)
    monkeypatch.setenv(LOCAL_RUN_KEY_ENV, KEY)
    check_task_code_root(str(tmp_path / "elsewhere"), code=code)


def test_a_code_root_signed_by_the_local_cli_is_accepted_wherever_it_is(tmp_path):
    code = CodePolicy.serving([tmp_path / "project"])
    check_run_request(mark_local_request(_with_code_root(str(tmp_path / "mine")), KEY), KEY, code=code)


def test_a_signed_request_whose_code_root_was_changed_is_refused(tmp_path):
    signed = mark_local_request(_with_code_root(str(tmp_path / "mine")), KEY)
    signed["code_root"] = str(tmp_path / "elsewhere")
    with pytest.raises(UsageError, match="code root"):
        check_run_request(signed, KEY, code=CodePolicy.serving([tmp_path / "project"]))


def test_the_orchestrator_is_started_with_the_spec_as_text_which_planning_reads_back_as_json():
    from durapipe.engine.request import orchestration_input

    built = request({"key": "incoming/a.csv"})
    started = orchestration_input(built)
    assert isinstance(started["spec"], str) and started["pipeline"] == "tiny"
    assert json.loads(started["spec"]) == built["spec"]
    assert {k: v for k, v in started.items() if k not in ("spec", "pipeline")} == \
        {k: v for k, v in built.items() if k != "spec"}
    assert orchestration_input(started) is started
    assert check_run_request(started)["spec"] == built["spec"]


def test_a_spec_given_as_text_is_read_unless_this_process_made_it_and_refused_in_a_sentence():
    built = request({"key": "incoming/a.csv"})
    broken = {**built["spec"], "steps": [{**built["spec"]["steps"][0], "outputs": "out"}]}
    with pytest.raises(UsageError, match=r"^(?!.*Traceback).*\.$"):
        check_run_request({**built, "spec": json.dumps(broken)})
    with pytest.raises(UsageError, match=r"The spec is not valid JSON"):
        check_run_request({**built, "spec": "{not json"})
