"""The pipeline files themselves: their definitions load and their steps run when called directly.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest


import batch_score  # noqa: E402
import retrain  # noqa: E402


def test_retrain_steps_chain_outside_a_pipeline(tmp_path: Path) -> None:
    p = tmp_path
    retrain.load_data(dataset=p / "dataset.csv")
    retrain.prepare(dataset=p / "dataset.csv", prepared=p / "prepared.csv")
    retrain.split(prepared=p / "prepared.csv", train=p / "train.csv", test=p / "test.csv")
    retrain.featurize(
        train=p / "train.csv", test=p / "test.csv", scaler=p / "scaler.pkl",
        train_features=p / "train_features.csv", test_features=p / "test_features.csv",
    )
    retrain.train(train_features=p / "train_features.csv", model=p / "model.pkl", model_type="tree")
    retrain.evaluate(model=p / "model.pkl", test_features=p / "test_features.csv",
                     metrics=p / "metrics.json", roc_curve=p / "roc.png")
    assert "roc_auc" in json.loads((p / "metrics.json").read_text())

    from ml.sample import write_sample

    write_sample(p / "data.csv", rows=30)
    batch_score.partition(data=p / "data.csv", partitions=p / "parts", rows_per_partition=8)
    (p / "scores").mkdir()
    for part in sorted((p / "parts").iterdir()):
        batch_score.score(part=part, model=p / "model.pkl", scaler=p / "scaler.pkl", scores=p / "scores" / part.name)
    batch_score.merge(scores=p / "scores", merged=p / "merged.csv")
    assert len((p / "merged.csv").read_text().splitlines()) == 31
