"""Fixtures for the example pipelines: their folder on sys.path, as durapipe runs them, and one
trained model shared by the tests that only read it."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"
if str(PIPELINES) not in sys.path:
    sys.path.insert(0, str(PIPELINES))

from ml.data import load_dataset, prepare_dataset, split_dataset  # noqa: E402
from ml.features import fit_scaler  # noqa: E402
from ml.metrics import evaluate_model  # noqa: E402
from ml.models import train_model  # noqa: E402


@dataclass
class Retrained:
    """The files one retraining run wrote, by output name."""

    folder: Path

    def __getattr__(self, name: str) -> Path:
        return self.folder / OUTPUT_FILES[name]


OUTPUT_FILES = {
    "dataset": "dataset.csv", "prepared": "prepared.csv", "train": "train.csv", "test": "test.csv",
    "scaler": "scaler.pkl", "train_features": "train_features.csv", "test_features": "test_features.csv",
    "model": "model.pkl", "metrics": "metrics.json", "roc_curve": "roc_curve.png",
}


def run_retrain(folder: Path, raw: Path | None = None, model_type: str = "logistic") -> Retrained:
    """Chain the retrain steps' bodies on files in `folder`, as the pipeline wires them."""
    out = Retrained(folder)
    load_dataset(raw, out.dataset)
    prepare_dataset(out.dataset, out.prepared)
    split_dataset(out.prepared, out.train, out.test, test_size=0.2, seed=0)
    fit_scaler(out.train, out.test, out.scaler, out.train_features, out.test_features)
    train_model(out.train_features, out.model, model_type, C=1.0, max_depth=5, seed=0)
    evaluate_model(out.model, out.test_features, out.metrics, out.roc_curve)
    return out


@pytest.fixture(scope="session")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> Retrained:
    """One logistic-regression retraining run on the shipped data set (read-only for tests)."""
    return run_retrain(tmp_path_factory.mktemp("retrained"))
