"""A step that names its Ray cluster reaches that cluster, whatever cluster the environment names."""
from __future__ import annotations

import socket

from durapipe.executors.remote.ray import RayTarget


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_named_cluster_is_reached_even_with_ray_address_variables_set(ray_head, monkeypatch):
    elsewhere = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("RAY_ADDRESS", elsewhere)
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", elsewhere)
    jobs = RayTarget(ray_head)._jobs()
    assert isinstance(jobs.list_jobs(), list)
    assert jobs.get_address() == ray_head.rstrip("/")


def test_the_environment_keeps_its_ray_address_variables(ray_head, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:1")
    RayTarget(ray_head)._jobs()
    import os

    assert os.environ["RAY_ADDRESS"] == "http://127.0.0.1:1" and "RAY_API_SERVER_ADDRESS" not in os.environ
