"""A deterministic sample of feature rows to score, for demos and tests.

    python pipelines/ml/sample.py incoming.csv --rows 5000 --seed 0
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

from ml.data import TARGET, shipped_table  # noqa: E402
from ml.tables import write_matrix  # noqa: E402


def write_sample(path: Path, rows: int, seed: int = 0) -> None:
    """Write `rows` feature rows (no target) drawn with replacement from the shipped data set."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows!r}.")
    header, table = shipped_table()
    drawn = np.random.default_rng(seed).integers(0, len(table), size=rows)
    features = [i for i, name in enumerate(header) if name != TARGET]
    write_matrix(Path(path), [header[i] for i in features], table[np.ix_(drawn, features)])


def main(argv: list[str] | None = None) -> int:
    """Command line: write a sample CSV."""
    parser = argparse.ArgumentParser(description="Write a CSV of feature rows to batch-score.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_sample(args.path, args.rows, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
