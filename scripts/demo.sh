#!/usr/bin/env bash
# The main job: install durapipe, then run the example retraining and batch-scoring pipelines
# on the embedded local host, each twice; the second run of each reuses every step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

bash scripts/setup.sh --python-only
durapipe="$repo/.venv/bin/durapipe"
python="$repo/.venv/bin/python"

mkdir -p demo
cd demo
export DURAPIPE_STORE="$repo/demo/.durapipe"
say() { printf '\n== %s\n' "$*"; }

say "retrain, first run: every step runs; the model becomes version 1 of breast_cancer"
"$durapipe" run ../pipelines/retrain.py:retrain --register-model breast_cancer
say "retrain, second run: nothing changed, so every step is reused"
"$durapipe" run ../pipelines/retrain.py:retrain --register-model breast_cancer
say "the model registry"
"$durapipe" models list breast_cancer
"$durapipe" models export breast_cancer champion >/dev/null

say "batch scoring 5,000 rows in partitions of 1,000 with the champion model"
"$python" ../pipelines/ml/sample.py incoming.csv --rows 5000
# model:NAME:champion names the champion's model; model:NAME:champion:scaler the scaler registered with it.
"$durapipe" run ../pipelines/batch_score.py:batch_score \
  --input data=incoming.csv --input model=model:breast_cancer:champion --input scaler=model:breast_cancer:champion:scaler
say "batch scoring the same file again: every partition is reused"
"$durapipe" run ../pipelines/batch_score.py:batch_score \
  --input data=incoming.csv --input model=model:breast_cancer:champion --input scaler=model:breast_cancer:champion:scaler

say "runs so far"
"$durapipe" runs list
