"""Evaluating a model on the test split: metrics JSON and a ROC-curve picture."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve

from ml.features import read_features
from ml.models import load_model


def evaluate_model(model: Path, test_features: Path, metrics: Path, roc_curve_png: Path) -> None:
    """Write accuracy, ROC AUC and F1 on `test_features` to `metrics`, and the ROC curve as a PNG."""
    estimator, trained_on = load_model(model)
    features, x, y = read_features(test_features)
    if features != trained_on:
        raise ValueError(f"{test_features} has other feature columns than the model was trained on.")
    probability = estimator.predict_proba(x)[:, 1]
    predicted = (probability >= 0.5).astype(int)
    values = {
        "accuracy": float(accuracy_score(y, predicted)),
        "roc_auc": float(roc_auc_score(y, probability)),
        "f1": float(f1_score(y, predicted)),
        "n_test": int(len(y)),
    }
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _plot_roc(y, probability, values["roc_auc"], roc_curve_png)


def read_metrics(path: Path) -> dict[str, float]:
    """Return the metrics a metrics JSON file holds."""
    values = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(values, dict):
        raise ValueError(f"{path} is not a metrics file: a JSON object is expected.")
    return values


def _plot_roc(y: np.ndarray, probability: np.ndarray, auc: float, path: Path) -> None:
    # Figure + the Agg canvas, not pyplot: no global backend state in a worker process.
    false_positive, true_positive, _ = roc_curve(y, probability)
    figure = Figure(figsize=(4, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(false_positive, true_positive, label=f"model (AUC {auc:.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title("ROC curve")
    axes.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    # No software version in the file: equal curves give equal bytes across matplotlib releases.
    figure.savefig(path, format="png", metadata={"Software": None})
