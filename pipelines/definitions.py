"""What the example project serves: retraining on a schedule, batch scoring on arrival, one model."""
from batch_score import batch_score
from retrain import retrain

from durapipe import BlobTrigger, Definitions, Model, Schedule

# Runs of `retrain` register their `model` output (with the rest of the run's outputs, such as the
# scaler) as a version of breast_cancer; it becomes champion when its roc_auc is higher.
breast_cancer = Model("breast_cancer", pipeline=retrain, output="model", metrics="metrics",
                      metric="roc_auc", direction="max", min_gain=0.0)

defs = Definitions(
    pipelines=[retrain, batch_score],
    models=[breast_cancer],
    schedules=[
        # Retrain on the newest blob under training/ (none: the data set scikit-learn ships).
        Schedule("retrain", pipeline=retrain, cron="%DURAPIPE_RETRAIN_SCHEDULE%",
                 inputs={"raw": "newest:training/"}),
    ],
    blob_triggers=[
        # A CSV arriving under incoming/ is scored by the champion; the scores land in scores/<name>.
        BlobTrigger("score", pipeline=batch_score, path="incoming/{name}", input="data",
                    inputs={"model": "model:breast_cancer:champion",
                            "scaler": "model:breast_cancer:champion:scaler"},
                    deliver={"scores": "scores/{name}"}),
    ],
)
