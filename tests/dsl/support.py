"""Steps shared by the definition tests, and a helper to find the line a mistake is on."""
from __future__ import annotations

from pathlib import Path

from durapipe import Input, Output, step


@step
def prepare(raw: Input, train: Output, test: Output, test_size: float = 0.2) -> None:
    """Split raw into train and test (writes placeholders)."""
    train.write_text(f"train from {raw.name} at {test_size}")
    test.write_text("test")


@step(retries=2)
def fit(train: Input, model: Output, C: float = 1.0) -> None:
    """Fit a model."""
    model.write_text(f"model C={C}")


@step
def score(model: Input, batch: Input, scores: Output, threshold: float = 0.5, note: str | None = None) -> None:
    """Score one batch."""


@step
def evaluate(model: Input, report: Output, test: Input | None = None) -> None:
    """Evaluate a model, on a test set when one is given."""


@step
def needs_seed(data: Input, out: Output, seed: int, tags: list = (), options: dict | None = None) -> None:
    """A step with a required parameter."""


def line_of(marker: str, path: str) -> int:
    """1-based line number of the only line of `path` ending with the comment `# <marker>`."""
    lines = [n for n, text in enumerate(Path(path).read_text().splitlines(), 1) if text.rstrip().endswith(f"# {marker}")]
    assert len(lines) == 1, f"marker {marker} found {len(lines)} times"
    return lines[0]


def assert_points_at(message: str, marker: str, path: str) -> None:
    """The message names `path`'s file name and the line carrying `marker`."""
    assert f"{Path(path).name}:{line_of(marker, path)}" in message, message
