"""The retraining data set: the breast-cancer table that scikit-learn ships, cleaned and split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from ml.tables import read_matrix, write_matrix

TARGET = "target"


def shipped_table() -> tuple[list[str], np.ndarray]:
    """Header and rows (features then target) of the data set scikit-learn ships; no download."""
    bunch = load_breast_cancer()
    header = [str(name) for name in bunch.feature_names] + [TARGET]
    return header, np.column_stack([bunch.data, bunch.target])


def load_dataset(raw: Path | None, dataset: Path) -> None:
    """Write `dataset`: a copy of the `raw` CSV when given, else the shipped data set."""
    if raw is not None:
        dataset.parent.mkdir(parents=True, exist_ok=True)
        dataset.write_bytes(Path(raw).read_bytes())
        return
    header, table = shipped_table()
    write_matrix(dataset, header, table)


def prepare_dataset(dataset: Path, prepared: Path) -> None:
    """Write `prepared`: the rows of `dataset` with no missing value, after checking its columns."""
    header, table = read_matrix(dataset)
    _check_columns(header, dataset)
    table = table[~np.isnan(table).any(axis=1)]
    target = table[:, header.index(TARGET)]
    labels = set(np.unique(target).tolist())
    if not labels <= {0.0, 1.0}:
        raise ValueError(
            f"{dataset}: column {TARGET!r} must hold 0 or 1 (a binary label), "
            f"found {sorted(labels)[:5]}."
        )
    if len(labels) < 2:
        raise ValueError(f"{dataset}: column {TARGET!r} needs both classes 0 and 1 after cleaning.")
    # The target goes last, so every later file has the features first in a fixed order.
    order = [i for i, name in enumerate(header) if name != TARGET] + [header.index(TARGET)]
    write_matrix(prepared, [header[i] for i in order], table[:, order])


def split_dataset(prepared: Path, train: Path, test: Path, test_size: float, seed: int) -> None:
    """Write stratified `train` and `test` CSVs from `prepared`, `test_size` of the rows in test."""
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be between 0 and 1 (exclusive), got {test_size!r}.")
    header, table = read_matrix(prepared)
    labels = table[:, header.index(TARGET)]
    train_rows, test_rows = train_test_split(
        table, test_size=test_size, random_state=seed, stratify=labels
    )
    write_matrix(train, header, train_rows)
    write_matrix(test, header, test_rows)


def _check_columns(header: list[str], path: Path) -> None:
    if TARGET not in header:
        raise ValueError(f"{path} has no {TARGET!r} column; its columns are {header[:5]}...")
    if len(header) < 2:
        raise ValueError(f"{path} needs at least one feature column beside {TARGET!r}.")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path} repeats the columns {duplicates}.")
