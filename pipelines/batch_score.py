"""Batch scoring: a CSV of feature rows arrives as a blob and is scored by the champion.

Inputs: `data` (CSV of feature rows, the training feature columns by name, optionally an
`id` column), `model` and `scaler` (the files `retrain` outputs under those names).
Output: `scores` (CSV: row, id if the data has one, probability), in the data's row order.
Partitions are fixed row-count windows named by position and content, so when the same
file arrives again with rows appended, only the windows that changed are scored again.
"""
from ml.partitions import merge_scores, partition_rows
from ml.scoring import score_partition

from durapipe import Input, Output, pipeline, step


@step
def partition(data: Input, partitions: Output, rows_per_partition: int = 1000) -> None:
    """Split `data` into a folder of windows of `rows_per_partition` rows."""
    partition_rows(data, partitions, rows_per_partition)


@step(retries=2)
def score(part: Input, model: Input, scaler: Input, scores: Output) -> None:
    """Score one partition file."""
    score_partition(part, model, scaler, scores)


@step
def merge(scores: Input, merged: Output) -> None:
    """Concatenate the per-partition scores, in row order."""
    merge_scores(scores, merged)


@pipeline
def batch_score(data: Input, model: Input, scaler: Input, rows_per_partition: int = 1000) -> dict:
    """Score every row of `data` with `model` and `scaler`, one mapped step per partition."""
    parts = partition(data=data, rows_per_partition=rows_per_partition)
    scored = score.map("part", part=parts.partitions, model=model, scaler=scaler)
    return {"scores": merge(scores=scored.scores).merged}
