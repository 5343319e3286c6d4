"""The batch_score pipeline's steps, called directly on files (outside a pipeline)."""
from __future__ import annotations

from pathlib import Path

import pytest
from ml.partitions import merge_scores, ordered_entries, partition_number, partition_rows
from ml.sample import write_sample
from ml.scoring import score_partition
from ml.tables import read_rows, write_rows

from tests.pipelines.conftest import Retrained


def score_all(retrained: Retrained, partitions: Path, scores: Path) -> None:
    """Run the mapped score step once per partition, as the runtime does."""
    scores.mkdir()
    for part in ordered_entries(partitions):
        score_partition(part, retrained.model, retrained.scaler, scores / part.name)


def test_partitions_are_fixed_windows_named_in_order(tmp_path: Path) -> None:
    write_sample(tmp_path / "data.csv", rows=25)
    names = partition_rows(tmp_path / "data.csv", tmp_path / "parts", rows_per_partition=10)
    assert [partition_number(n) for n in names] == [0, 1, 2]
    assert sorted(names) == names == sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert [len(read_rows(tmp_path / "parts" / n)[1]) for n in names] == [10, 10, 5]


def test_appended_rows_keep_every_full_leading_partition(tmp_path: Path) -> None:
    write_sample(tmp_path / "big.csv", rows=47, seed=3)
    header, rows = read_rows(tmp_path / "big.csv")
    write_rows(tmp_path / "small.csv", header, rows[:35])
    small = partition_rows(tmp_path / "small.csv", tmp_path / "small", rows_per_partition=10)
    big = partition_rows(tmp_path / "big.csv", tmp_path / "big", rows_per_partition=10)
    assert big[:3] == small[:3]
    for name in small[:3]:
        assert (tmp_path / "big" / name).read_bytes() == (tmp_path / "small" / name).read_bytes()
    assert big[3] != small[3]  # the partial window grew, so it is a new partition


def test_partitioning_is_deterministic(tmp_path: Path) -> None:
    write_sample(tmp_path / "data.csv", rows=12)
    first = partition_rows(tmp_path / "data.csv", tmp_path / "a", rows_per_partition=5)
    assert partition_rows(tmp_path / "data.csv", tmp_path / "b", rows_per_partition=5) == first


@pytest.mark.parametrize("size", [0, -1, 2.5])
def test_partition_rejects_a_bad_window_size(tmp_path: Path, size: object) -> None:
    write_sample(tmp_path / "data.csv", rows=3)
    with pytest.raises(ValueError, match="rows_per_partition"):
        partition_rows(tmp_path / "data.csv", tmp_path / "parts", rows_per_partition=size)  # type: ignore[arg-type]


def test_partition_rejects_a_file_without_rows(tmp_path: Path) -> None:
    write_rows(tmp_path / "data.csv", ["a"], [])
    with pytest.raises(ValueError, match="no data rows"):
        partition_rows(tmp_path / "data.csv", tmp_path / "parts", rows_per_partition=5)


def test_score_writes_a_probability_per_row(retrained: Retrained, tmp_path: Path) -> None:
    write_sample(tmp_path / "data.csv", rows=7)
    (part,) = partition_rows(tmp_path / "data.csv", tmp_path / "parts", rows_per_partition=10)
    score_partition(tmp_path / "parts" / part, retrained.model, retrained.scaler, tmp_path / "scores.csv")
    header, rows = read_rows(tmp_path / "scores.csv")
    assert header == ["row", "probability"]
    assert [r[0] for r in rows] == [str(i) for i in range(7)]
    assert all(0.0 <= float(r[1]) <= 1.0 for r in rows)


def test_score_carries_an_id_column_through(retrained: Retrained, tmp_path: Path) -> None:
    write_sample(tmp_path / "sample.csv", rows=3)
    header, rows = read_rows(tmp_path / "sample.csv")
    write_rows(tmp_path / "data.csv", ["id", *reversed(header)], [[f"c{i}", *reversed(r)] for i, r in enumerate(rows)])
    (part,) = partition_rows(tmp_path / "data.csv", tmp_path / "parts", rows_per_partition=10)
    score_partition(tmp_path / "parts" / part, retrained.model, retrained.scaler, tmp_path / "scores.csv")
    header, rows = read_rows(tmp_path / "scores.csv")
    assert header == ["row", "id", "probability"] and [r[1] for r in rows] == ["c0", "c1", "c2"]


def test_score_rejects_data_missing_a_feature(retrained: Retrained, tmp_path: Path) -> None:
    write_rows(tmp_path / "part.csv", ["row", "mean radius"], [["0", "12.0"]])
    with pytest.raises(ValueError, match="lacks the feature columns"):
        score_partition(tmp_path / "part.csv", retrained.model, retrained.scaler, tmp_path / "scores.csv")


def test_merge_restores_the_row_order(retrained: Retrained, tmp_path: Path) -> None:
    # 12 windows: partition numbers 10 and 11 must come after 2, whatever the directory order.
    write_sample(tmp_path / "data.csv", rows=23)
    partition_rows(tmp_path / "data.csv", tmp_path / "parts", rows_per_partition=2)
    score_all(retrained, tmp_path / "parts", tmp_path / "scores")
    merge_scores(tmp_path / "scores", tmp_path / "merged.csv")
    header, rows = read_rows(tmp_path / "merged.csv")
    assert header == ["row", "probability"]
    assert [int(r[0]) for r in rows] == list(range(23))


def test_merge_refuses_a_missing_partition(retrained: Retrained, tmp_path: Path) -> None:
    write_sample(tmp_path / "data.csv", rows=6)
    partition_rows(tmp_path / "data.csv", tmp_path / "parts", rows_per_partition=2)
    score_all(retrained, tmp_path / "parts", tmp_path / "scores")
    ordered_entries(tmp_path / "scores")[1].unlink()
    with pytest.raises(ValueError, match="row numbers"):
        merge_scores(tmp_path / "scores", tmp_path / "merged.csv")
