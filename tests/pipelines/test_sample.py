"""The sample data generator for batch scoring."""
from __future__ import annotations

from pathlib import Path

from ml.data import TARGET
from ml.sample import main, write_sample
from ml.tables import read_matrix


def test_sample_has_the_feature_columns_and_no_target(tmp_path: Path) -> None:
    write_sample(tmp_path / "data.csv", rows=50)
    header, table = read_matrix(tmp_path / "data.csv")
    assert TARGET not in header and len(header) == 30 and table.shape == (50, 30)


def test_sample_is_deterministic_per_seed(tmp_path: Path) -> None:
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        write_sample(tmp_path / f"{name}.csv", rows=20, seed=seed)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_command_line_writes_the_sample(tmp_path: Path) -> None:
    assert main([str(tmp_path / "data.csv"), "--rows", "5"]) == 0
    assert len((tmp_path / "data.csv").read_text().splitlines()) == 6
