"""The pipelines this app serves (over HTTP, on blob arrival and on the timer).

Only these can run through the app: a request names one of them, never code.
"""
from pathlib import Path

from durapipe.service import Catalog, ServedPipeline

PIPELINES_ROOT = Path(__file__).resolve().parent.parent / "pipelines"
CHAMPION_MODEL = "breast_cancer"

RETRAIN = ServedPipeline("retrain:retrain", PIPELINES_ROOT, register_model=CHAMPION_MODEL)
BATCH_SCORE = ServedPipeline("batch_score:batch_score", PIPELINES_ROOT)

CATALOG = Catalog([RETRAIN, BATCH_SCORE])
