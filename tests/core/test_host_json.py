"""A local step whose timeout exceeds the function timeout in host.json is warned about, naming the remote targets."""
from __future__ import annotations

import json
import os

import pytest

from durapipe import Output, step
from durapipe.core.host_json import function_timeout_s, parse_timespan, timeout_warning


def test_host_json_timespans_are_read_in_seconds():
    assert parse_timespan("00:30:00") == 1800.0
    assert parse_timespan("1.02:00:00") == 93600.0
    assert parse_timespan("-1") is None


def test_the_function_timeout_comes_from_host_json(tmp_path):
    host = tmp_path / "host.json"
    host.write_text(json.dumps({"version": "2.0", "functionTimeout": "00:10:00"}))
    assert function_timeout_s(host) == 600.0


def test_a_local_step_longer_than_the_function_timeout_is_warned_about():
    message = timeout_warning("train", {"timeout": 3600.0, "compute": "local"}, 1800.0)
    assert message == ("Step train has timeout=3600 s, longer than the function timeout of 1800 s in host.json: "
                       "on Azure it would be cut off; run it on remote compute (compute=\"ray:http://HOST:8265\" or "
                       "compute=\"azureml:CLUSTER\").")


def test_a_remote_step_or_a_shorter_one_is_not_warned_about():
    assert timeout_warning("train", {"timeout": 3600.0, "compute": "ray:http://h:8265"}, 1800.0) is None
    assert timeout_warning("train", {"timeout": 60.0, "compute": "local"}, 1800.0) is None


def test_declaring_such_a_step_warns_at_its_line():
    limit = function_timeout_s()
    assert limit is not None
    with pytest.warns(UserWarning, match=r"Step very_long has timeout=.* in host.json: .*test_host_json.py:\d+"):
        @step(timeout=limit + 1)
        def very_long(out: Output):
            pass


def test_a_host_json_written_just_now_is_read_again_each_time(tmp_path):
    # Rewritten within the same timestamp tick, its signature could not tell the two versions apart.
    host = tmp_path / "host.json"
    host.write_text(json.dumps({"version": "2.0", "functionTimeout": "00:10:00"}))
    assert function_timeout_s(host) == 600.0
    signature = host.stat()
    host.write_text(json.dumps({"version": "2.0", "functionTimeout": "00:20:00"}))
    os.utime(host, ns=(signature.st_atime_ns, signature.st_mtime_ns))
    assert function_timeout_s(host) == 1200.0
