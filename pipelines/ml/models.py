"""Training the classifier: a logistic regression or a decision tree."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from ml.features import load_pickle, read_features, save_pickle

MODEL_TYPES = ("logistic", "tree")


def make_estimator(model_type: str, C: float, max_depth: int, seed: int) -> Any:
    """Return an unfitted estimator for `model_type`, or raise ValueError naming the valid types."""
    if model_type == "logistic":
        if C <= 0:
            raise ValueError(f"C must be positive, got {C!r}.")
        return LogisticRegression(C=C, max_iter=1000)
    if model_type == "tree":
        if max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, got {max_depth!r}.")
        return DecisionTreeClassifier(max_depth=max_depth, random_state=seed)
    raise ValueError(
        f"Unknown model type {model_type!r}: use one of {', '.join(map(repr, MODEL_TYPES))}."
    )


def train_model(
    train_features: Path, model: Path, model_type: str, C: float, max_depth: int, seed: int
) -> None:
    """Fit the estimator on `train_features` and pickle it, with its feature names, to `model`."""
    estimator = make_estimator(model_type, C, max_depth, seed)
    features, x, y = read_features(train_features)
    estimator.fit(x, y)
    save_pickle(model, {"estimator": estimator, "model_type": model_type, "features": features})


def load_model(path: Path) -> tuple[Any, list[str]]:
    """Return the fitted estimator and the feature names, in order, it was trained on."""
    saved = load_pickle(path)
    return saved["estimator"], list(saved["features"])
