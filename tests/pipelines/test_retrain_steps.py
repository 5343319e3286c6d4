"""The retrain pipeline's steps, called directly on files (outside a pipeline)."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import pytest
from ml.data import TARGET, load_dataset, prepare_dataset, split_dataset
from ml.features import read_features
from ml.models import train_model
from ml.tables import read_matrix, write_rows

from tests.pipelines.conftest import Retrained, run_retrain

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_shipped_dataset_is_written_when_no_raw_input(retrained: Retrained) -> None:
    header, table = read_matrix(retrained.dataset)
    assert header[-1] == TARGET and len(header) == 31 and table.shape == (569, 31)


def test_raw_input_is_used_when_given(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    write_rows(raw, ["a", TARGET], [["1.5", "0"], ["2.5", "1"]])
    load_dataset(raw, tmp_path / "dataset.csv")
    assert (tmp_path / "dataset.csv").read_bytes() == raw.read_bytes()


def test_prepare_drops_rows_with_missing_values(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset.csv"
    write_rows(dataset, [TARGET, "a", "b"], [["0", "1", "2"], ["1", "", "3"], ["1", "NaN", "4"], ["1", "5", "6"]])
    prepare_dataset(dataset, tmp_path / "prepared.csv")
    header, table = read_matrix(tmp_path / "prepared.csv")
    assert header == ["a", "b", TARGET]  # target moved last
    assert table.tolist() == [[1, 2, 0], [5, 6, 1]]


def test_prepare_rejects_a_table_without_target(tmp_path: Path) -> None:
    write_rows(tmp_path / "dataset.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(ValueError, match="no 'target' column"):
        prepare_dataset(tmp_path / "dataset.csv", tmp_path / "prepared.csv")


def test_prepare_rejects_text_in_a_number_column(tmp_path: Path) -> None:
    write_rows(tmp_path / "dataset.csv", ["a", TARGET], [["1", "0"], ["oops", "1"]])
    with pytest.raises(ValueError, match="line 3 column 'a'"):
        prepare_dataset(tmp_path / "dataset.csv", tmp_path / "prepared.csv")


def test_prepare_rejects_a_non_binary_target(tmp_path: Path) -> None:
    write_rows(tmp_path / "dataset.csv", ["a", TARGET], [["1", "0"], ["2", "2"]])
    with pytest.raises(ValueError, match="binary label"):
        prepare_dataset(tmp_path / "dataset.csv", tmp_path / "prepared.csv")


def test_split_is_stratified_and_keeps_every_row(retrained: Retrained) -> None:
    _, prepared = read_matrix(retrained.prepared)
    _, train = read_matrix(retrained.train)
    _, test = read_matrix(retrained.test)
    assert len(train) + len(test) == len(prepared) and len(test) == 114
    assert abs(train[:, -1].mean() - test[:, -1].mean()) < 0.01


def test_split_rejects_a_test_size_outside_0_1(retrained: Retrained, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="test_size"):
        split_dataset(retrained.prepared, tmp_path / "a.csv", tmp_path / "b.csv", test_size=1.0, seed=0)


def test_featurize_scales_train_to_zero_mean_unit_variance(retrained: Retrained) -> None:
    features, x, y = read_features(retrained.train_features)
    assert len(features) == 30 and set(y.tolist()) == {0, 1}
    assert abs(x.mean(axis=0)).max() < 1e-9 and abs(x.std(axis=0) - 1).max() < 1e-9


def test_metrics_are_between_0_and_1(retrained: Retrained) -> None:
    metrics = json.loads(retrained.metrics.read_text())
    assert set(metrics) == {"accuracy", "roc_auc", "f1", "n_test"}
    for name in ("accuracy", "roc_auc", "f1"):
        assert 0.0 <= metrics[name] <= 1.0
    assert metrics["roc_auc"] > 0.9  # a sanity bound: this data set is easy


def test_roc_curve_is_a_valid_png(retrained: Retrained) -> None:
    assert retrained.roc_curve.read_bytes().startswith(PNG_SIGNATURE)
    assert matplotlib.image.imread(retrained.roc_curve).shape == (400, 400, 4)


def test_a_tree_model_trains_and_evaluates(tmp_path: Path) -> None:
    out = run_retrain(tmp_path, model_type="tree")
    assert 0.0 <= json.loads(out.metrics.read_text())["accuracy"] <= 1.0


def test_unknown_model_type_raises(retrained: Retrained, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown model type 'forest'.*'logistic', 'tree'"):
        train_model(retrained.train_features, tmp_path / "model.pkl", "forest", C=1.0, max_depth=5, seed=0)
    assert not (tmp_path / "model.pkl").exists()


def test_a_rerun_writes_identical_bytes(retrained: Retrained, tmp_path: Path) -> None:
    # Early cutoff depends on it: equal inputs must give equal output bytes.
    again = run_retrain(tmp_path)
    for name in ("dataset", "prepared", "train", "test", "scaler", "train_features", "model", "metrics", "roc_curve"):
        assert getattr(again, name).read_bytes() == getattr(retrained, name).read_bytes(), name
