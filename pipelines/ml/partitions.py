"""Batch-scoring partitions: fixed row-count windows named by position and content.

A window's file holds its rows with their global row numbers, and is named
`part-<window number, 6 digits>-<first 16 hex of the sha256 of its bytes>.csv`. The same
leading rows therefore give the same files under the same names: when a data file grows by
appended rows, every full window before the new rows is byte-identical to the last run's, so
its scores are reused, and only the last (partial) window and the new ones are scored.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

from ml.tables import read_rows, write_rows

ROW = "row"
PARTITION_NAME = re.compile(r"part-(\d{6,})-([0-9a-f]{16})\.csv")


def partition_rows(data: Path, partitions: Path, rows_per_partition: int) -> list[str]:
    """Write `data`'s rows as windows of `rows_per_partition` rows into `partitions`; return the names."""
    if not isinstance(rows_per_partition, int) or rows_per_partition < 1:
        raise ValueError(f"rows_per_partition must be a positive integer, got {rows_per_partition!r}.")
    _create_empty_folder(partitions)
    names = []
    with Path(data).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{data} is empty: a CSV with a header line is expected.")
        if ROW in header:
            raise ValueError(f"{data} has a column named {ROW!r}, which partitioning reserves for row numbers.")
        for number, window in enumerate(_windows(reader, len(header), rows_per_partition, data)):
            content = _partition_bytes(header, window)
            name = f"part-{number:06d}-{hashlib.sha256(content).hexdigest()[:16]}.csv"
            (partitions / name).write_bytes(content)
            names.append(name)
    if not names:
        raise ValueError(f"{data} has a header but no data rows to score.")
    return names


def partition_number(name: str) -> int:
    """Return the window number of a partition (or per-partition result) file name."""
    match = PARTITION_NAME.fullmatch(name)
    if not match:
        raise ValueError(f"{name!r} is not a partition name like 'part-000000-<16 hex>.csv'.")
    return int(match.group(1))


def ordered_entries(folder: Path) -> list[Path]:
    """Return the files of a per-partition folder in window order."""
    return sorted((p for p in Path(folder).iterdir() if p.is_file()), key=lambda p: partition_number(p.name))


def merge_scores(scores: Path, merged: Path) -> None:
    """Concatenate the per-partition score files of the folder `scores`, in row order, into `merged`."""
    entries = ordered_entries(scores)
    if not entries:
        raise ValueError(f"{scores} holds no per-partition score files.")
    header: list[str] | None = None
    rows: list[list[str]] = []
    for entry in entries:
        entry_header, entry_rows = read_rows(entry)
        if header is None:
            header = entry_header
        elif entry_header != header:
            raise ValueError(f"{entry.name} has other columns than {entries[0].name}.")
        rows.extend(entry_rows)
    assert header is not None
    if ROW in header:
        # A gap or an overlap means a partition is missing or repeated: fail, never publish it.
        column = header.index(ROW)
        numbers = [int(row[column]) for row in rows]
        if numbers != list(range(len(numbers))):
            raise ValueError(f"{scores}: the partitions' row numbers are not 0 to {len(numbers) - 1} in order.")
    write_rows(merged, header, rows)


def _windows(reader: Iterator[list[str]], width: int, size: int, data: Path) -> Iterator[list[list[str]]]:
    window: list[list[str]] = []
    row_number = 0
    for line_number, cells in enumerate(reader, start=2):
        if not cells:
            continue
        if len(cells) != width:
            raise ValueError(f"{data} line {line_number} has {len(cells)} cells but the header has {width}.")
        window.append([str(row_number), *cells])
        row_number += 1
        if len(window) == size:
            yield window
            window = []
    if window:
        yield window


def _partition_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([ROW, *header])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _create_empty_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise ValueError(f"The output folder {folder} is not empty.")
