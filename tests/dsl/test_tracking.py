"""The metrics channel: a JSON-lines file named by an environment variable, across threads and processes."""
from __future__ import annotations

import math
import subprocess
import sys
import threading

import pytest

from durapipe.dsl import tracking
from durapipe.core.errors import UsageError


def test_metrics_logged_from_threads_and_a_child_process_all_arrive(tmp_path):
    with tracking.channel(tmp_path / "t.jsonl") as path:
        threads = [threading.Thread(target=tracking.log_metric, args=(f"m{i}", i)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        subprocess.run([sys.executable, "-c", "import durapipe; durapipe.log_metric('child', 1.5); "
                        "durapipe.log_param('layers', [1, 2])"], check=True)
    metrics, params = tracking.read_channel(path)
    assert metrics == {**{f"m{i}": i for i in range(10)}, "child": 1.5} and params == {"layers": [1, 2]}


def test_the_last_value_of_a_name_counts_and_a_cut_line_is_skipped(tmp_path):
    with tracking.channel(tmp_path / "t.jsonl") as path:
        tracking.log_metric("loss", 2.0)
        tracking.log_metric("loss", 1.0)
    with open(path, "a") as out:
        out.write('{"kind": "metric", "name": "loss", "val')
    assert tracking.read_channel(path) == ({"loss": 1.0}, {})


@pytest.mark.parametrize("value", [math.nan, math.inf, "0.5", True, None])
def test_a_metric_that_is_not_a_finite_number_is_refused(tmp_path, value):
    with tracking.channel(tmp_path / "t.jsonl"), pytest.raises(UsageError, match="finite number"):
        tracking.log_metric("loss", value)


def test_a_bad_name_or_a_parameter_that_is_not_json_is_refused(tmp_path):
    with tracking.channel(tmp_path / "t.jsonl"):
        with pytest.raises(UsageError, match="name"):
            tracking.log_metric("bad name", 1.0)
        with pytest.raises(UsageError, match="JSON value"):
            tracking.log_param("model", object())


def test_the_channel_is_closed_after_the_step(tmp_path):
    with tracking.channel(tmp_path / "t.jsonl"):
        pass
    with pytest.raises(UsageError, match="only inside a running step"):
        tracking.log_param("x", 1)
