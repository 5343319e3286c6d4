"""Scheduled retraining: a breast-cancer classifier from the data set scikit-learn ships.

Outputs: `model` (pickled classifier), `scaler` (pickled StandardScaler and feature names),
`metrics` (JSON: accuracy, roc_auc, f1, n_test) and `roc_curve` (PNG). Whether a new model
replaces the champion is decided once, by the `breast_cancer` Model in definitions.py.
`model` and `scaler` are the two inputs of `batch_score`.
"""
from ml.data import load_dataset, prepare_dataset, split_dataset
from ml.features import fit_scaler
from ml.metrics import evaluate_model
from ml.models import train_model

from durapipe import Input, Output, pipeline, step


@step
def load_data(dataset: Output, raw: Input | None = None) -> None:
    """Copy the `raw` CSV when given, else write the shipped data set, to `dataset`."""
    load_dataset(raw, dataset)


@step
def prepare(dataset: Input, prepared: Output) -> None:
    """Check the columns and drop the rows with a missing value."""
    prepare_dataset(dataset, prepared)


@step
def split(prepared: Input, train: Output, test: Output, test_size: float = 0.2, seed: int = 0) -> None:
    """Stratified train/test split."""
    split_dataset(prepared, train, test, test_size, seed)


@step
def featurize(
    train: Input, test: Input, scaler: Output, train_features: Output, test_features: Output
) -> None:
    """Fit a StandardScaler on the training rows; scale both splits."""
    fit_scaler(train, test, scaler, train_features, test_features)


@step(retries=1)
def train(
    train_features: Input,
    model: Output,
    model_type: str = "logistic",
    C: float = 1.0,
    max_depth: int = 5,
    seed: int = 0,
) -> None:
    """Fit a "logistic" regression (C) or a decision "tree" (max_depth)."""
    train_model(train_features, model, model_type, C, max_depth, seed)


@step
def evaluate(model: Input, test_features: Input, metrics: Output, roc_curve: Output) -> None:
    """Metrics JSON and ROC-curve PNG on the test split."""
    evaluate_model(model, test_features, metrics, roc_curve)


@pipeline
def retrain(
    raw: Input | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    model_type: str = "logistic",
    C: float = 1.0,
    max_depth: int = 5,
) -> dict:
    """Retrain on `raw` (or the shipped data set); the model registry decides on the champion."""
    loaded = load_data(raw=raw)
    cleaned = prepare(dataset=loaded.dataset)
    halves = split(prepared=cleaned.prepared, test_size=test_size, seed=seed)
    scaled = featurize(train=halves.train, test=halves.test)
    trained = train(
        train_features=scaled.train_features, model_type=model_type, C=C, max_depth=max_depth, seed=seed
    )
    evaluation = evaluate(model=trained.model, test_features=scaled.test_features)
    return {
        "model": trained.model,
        "scaler": scaled.scaler,
        "metrics": evaluation.metrics,
        "roc_curve": evaluation.roc_curve,
    }
