"""Small pipelines for the web tests: one with a mapped step that can be made to fail, one that waits on a gate."""
import time
from pathlib import Path

from durapipe import Input, Output, pipeline, step

GATE_TIMEOUT_S = 120.0


@step
def make(parts: Output, n: int = 3, salt: str = ""):
    parts.mkdir()
    for i in range(n):  # the salt makes the partitions' bytes, and so their results, a run's own
        (parts / f"p{i}.txt").write_text(f"{i + 1} {salt}")


@step
def square(part: Input, out: Output):
    value = int(part.read_text().split()[0])
    print(f"squaring {value}")
    out.write_text(str(value * value))


@step
def check(squares: Input, report: Output, fail: bool = False):
    if fail:
        raise ValueError("the check was told to fail")
    report.write_text(str(sum(int(p.read_text()) for p in squares.iterdir())))


@step
def publish(report: Input, published: Output):
    published.write_text(f"total {report.read_text()}\n")


@pipeline
def shapes(n: int = 3, fail: bool = False, salt: str = ""):
    squares = square.map("part", part=make(n=n, salt=salt).parts)
    return {"published": publish(report=check(squares=squares.out, fail=fail).report).published}


@step(cache=False)
def wait_for_gate(opened: Output, gate: str):
    """Wait until the file `gate` exists (the test creates it once it has seen this step running)."""
    deadline = time.monotonic() + GATE_TIMEOUT_S
    while not Path(gate).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gate {gate} was never opened")
        time.sleep(0.05)
    opened.write_text("open")


@step(cache=False)
def after_gate(opened: Input, done: Output):
    done.write_text(opened.read_text() + " and done")


@pipeline
def gated(gate: str):
    return {"done": after_gate(opened=wait_for_gate(gate=gate).opened).done}
