"""Scoring one partition with the champion model and its scaler."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.features import load_scaler
from ml.models import load_model
from ml.partitions import ROW
from ml.tables import MISSING, format_number, read_rows, write_rows

ID = "id"


def score_partition(part: Path, model: Path, scaler: Path, scores: Path) -> None:
    """Write `scores`: each row's number (and `id` column, if any) with the positive-class probability."""
    estimator, trained_on = load_model(model)
    fitted, features = load_scaler(scaler)
    if trained_on != features:
        raise ValueError(f"The model {model} and the scaler {scaler} were fitted on other features.")
    header, rows = read_rows(part)
    missing = [name for name in features if name not in header]
    if missing:
        raise ValueError(f"{part} lacks the feature columns {missing[:5]} ({len(missing)} in all).")
    keys = [name for name in (ROW, ID) if name in header]
    columns = [header.index(name) for name in features]
    x = np.array([[_number(row[c], row, header, c, part) for c in columns] for row in rows], dtype=float)
    probability = estimator.predict_proba(fitted.transform(x))[:, 1] if rows else np.empty(0)
    key_columns = [header.index(name) for name in keys]
    write_rows(
        scores,
        [*keys, "probability"],
        ([*(row[c] for c in key_columns), format_number(p)] for row, p in zip(rows, probability)),
    )


def _number(cell: str, row: list[str], header: list[str], column: int, part: Path) -> float:
    where = f"row {row[header.index(ROW)]}" if ROW in header else "a row"
    if cell.strip() in MISSING:
        raise ValueError(f"{part}: {where} has no value for {header[column]!r}; scoring needs every feature.")
    try:
        return float(cell)
    except ValueError:
        raise ValueError(f"{part}: {where} holds {cell!r} for {header[column]!r}, which is not a number.") from None
