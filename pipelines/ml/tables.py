"""Plain CSV tables of numbers, written byte-for-byte deterministically.

Steps' outputs are content-addressed and downstream fingerprints depend on their bytes, so
the same values must always produce the same file (early cutoff).
"""
from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

MISSING = frozenset({"", "nan", "NaN", "NAN", "NA", "N/A", "null", "NULL", "None"})


def format_number(value: float) -> str:
    """Shortest text that reads back as exactly `value`; integral values without a '.0'."""
    number = float(value)
    if math.isfinite(number) and number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Return the header and the data rows of a CSV file, as text cells."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path} is empty: a CSV with a header line is expected.")
        rows = [row for row in reader if row]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(
                f"{path} line {number} has {len(row)} cells but the header has {len(header)}."
            )
    return header, rows


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a CSV file with '\\n' line endings (the same bytes on every platform)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_matrix(path: Path, header: Sequence[str], matrix: np.ndarray) -> None:
    """Write a 2-D array of numbers as a CSV file under `header`."""
    write_rows(path, header, ([format_number(v) for v in row] for row in np.asarray(matrix)))


def read_matrix(path: Path) -> tuple[list[str], np.ndarray]:
    """Return the header and a float array of a CSV file of numbers; missing cells are NaN."""
    header, rows = read_rows(path)
    matrix = np.empty((len(rows), len(header)), dtype=float)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            matrix[i, j] = _parse_number(cell, path, i + 2, header[j])
    return header, matrix


def _parse_number(cell: str, path: Path, line: int, column: str) -> float:
    text = cell.strip()
    if text in MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{path} line {line} column {column!r} holds {cell!r}, which is not a number."
        ) from None
