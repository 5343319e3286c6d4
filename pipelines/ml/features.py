"""Feature scaling: a StandardScaler fitted on the training rows only, applied to both splits."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler

from ml.data import TARGET
from ml.tables import read_matrix, write_matrix

PICKLE_PROTOCOL = 5


def fit_scaler(
    train: Path, test: Path, scaler: Path, train_features: Path, test_features: Path
) -> None:
    """Fit a scaler on `train`; write it to `scaler` and both splits, scaled, as feature CSVs."""
    header, train_table = read_matrix(train)
    test_header, test_table = read_matrix(test)
    if test_header != header:
        raise ValueError(f"{test} has other columns than {train}.")
    features = [name for name in header if name != TARGET]
    columns = [header.index(name) for name in features]
    fitted = StandardScaler().fit(train_table[:, columns])
    save_pickle(scaler, {"scaler": fitted, "features": features})
    for table, out in ((train_table, train_features), (test_table, test_features)):
        scaled = fitted.transform(table[:, columns])
        write_matrix(out, features + [TARGET], np.column_stack([scaled, table[:, header.index(TARGET)]]))


def read_features(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return the feature names, the feature matrix and the 0/1 labels of a feature CSV."""
    header, table = read_matrix(path)
    if not header or header[-1] != TARGET:
        raise ValueError(f"{path} is not a feature file: its last column must be {TARGET!r}.")
    return header[:-1], table[:, :-1], table[:, -1].astype(int)


def load_scaler(path: Path) -> tuple[StandardScaler, list[str]]:
    """Return the fitted scaler and the feature names, in order, that it expects."""
    saved = load_pickle(path)
    return saved["scaler"], list(saved["features"])


def save_pickle(path: Path, value: Any) -> None:
    """Pickle `value` to `path` with a fixed protocol, so equal objects give equal bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value, protocol=PICKLE_PROTOCOL))


def load_pickle(path: Path) -> Any:
    """Unpickle a file this package wrote; only ever called on the pipeline's own artifacts."""
    return pickle.loads(Path(path).read_bytes())
