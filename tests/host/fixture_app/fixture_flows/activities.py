"""Activities of the test app; side effects go to files named in their input."""
from __future__ import annotations

import os
import time
from pathlib import Path

import azure.durable_functions as df

bp = df.Blueprint()


class Point:
    """A custom input type that round-trips through the Durable serialiser."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    @staticmethod
    def to_json(obj: "Point") -> dict:
        return {"x": obj.x, "y": obj.y}

    @staticmethod
    def from_json(data: dict) -> "Point":
        return Point(data["x"], data["y"])


@bp.activity_trigger(input_name="x")
def double(x: int) -> int:
    return x * 2


@bp.activity_trigger(input_name="name")
def greet(name: str) -> str:
    return f"hello {name} ({type(name).__name__})"


@bp.activity_trigger(input_name="point")
def shift(point: Point) -> Point:
    return Point(point.x + 1, point.y + 1)


@bp.function_name("renamed_activity")
@bp.activity_trigger(input_name="x")
def renamed_impl(x: int) -> str:
    return f"renamed {x}"


@bp.activity_trigger(input_name="message")
def fail(message: str) -> None:
    raise ValueError(message)


@bp.activity_trigger(input_name="job")
def flaky(job: dict) -> int:
    folder = Path(job["dir"])
    attempt = len(list(folder.glob("attempt-*"))) + 1
    (folder / f"attempt-{attempt}").write_text("")
    if attempt <= job["fail_times"]:
        raise RuntimeError(f"attempt {attempt} failed")
    return attempt


@bp.activity_trigger(input_name="code")
def crash(code: int) -> None:
    os._exit(code)


@bp.activity_trigger(input_name="job")
def interval(job: dict) -> str:
    start = time.time()
    time.sleep(job["seconds"])
    Path(job["dir"], f"{job['name']}.txt").write_text(f"{start} {time.time()}")
    return job["name"]


@bp.activity_trigger(input_name="job")
def gated(job: dict) -> int:
    while not Path(job["gate"]).exists():
        time.sleep(0.01)
    return job["i"]


@bp.activity_trigger(input_name="job")
def append_line(job: dict) -> int:
    time.sleep(job.get("sleep", 0))
    with open(job["path"], "a") as f:
        f.write(f"{job['i']}\n")
    return job["i"]
