"""The promotion decision: does a newly trained model beat the current champion?"""
from __future__ import annotations

import json
from pathlib import Path

from ml.metrics import read_metrics

HIGHER_IS_BETTER = ("accuracy", "roc_auc", "f1")


def decide_promotion(
    metrics: Path, decision: Path, champion: Path | None, metric: str, min_improvement: float
) -> None:
    """Write `decision`: promote if there is no champion or `metric` beats its by > `min_improvement`."""
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"Unknown metric {metric!r}: use one of {', '.join(HIGHER_IS_BETTER)}.")
    value = _metric(read_metrics(metrics), metric, metrics)
    champion_value = None if champion is None else _metric(read_metrics(champion), metric, champion)
    promote = champion_value is None or value > champion_value + min_improvement
    result = {
        "promote": promote,
        "metric_name": metric,
        "metric": value,
        "champion_metric": champion_value,
        "min_improvement": min_improvement,
    }
    decision.parent.mkdir(parents=True, exist_ok=True)
    decision.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _metric(values: dict, metric: str, path: Path) -> float:
    if not isinstance(values.get(metric), (int, float)):
        raise ValueError(f"{path} has no numeric {metric!r} metric.")
    return float(values[metric])
