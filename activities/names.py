"""The function names of the activities and orchestrators (defined in durapipe.model.contracts)."""
from durapipe.model.contracts import (BLOB_ARRIVAL, GATHER_PARTITIONS, LIST_PARTITIONS, MAP_PARTITIONS,  # noqa: F401
                                PIPELINE_RUN, PIPELINE_SEGMENT, PLAN_RUN, RECORD_POISON, RECORD_RUN, RUN_STEP,
                                SCHEMA_VERSION)
from durapipe.model.contracts import COLLECT_STEP, POLL_STEP, REMOTE_STEP, SUBMIT_STEP  # noqa: F401
from durapipe.model.contracts import PREPARE_ARRIVAL  # noqa: F401
