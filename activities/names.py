"""The function names of the activities and orchestrators (defined in durapipe.contracts)."""
from durapipe.contracts import (BLOB_ARRIVAL, GATHER_PARTITIONS, LIST_PARTITIONS, MAP_PARTITIONS,  # noqa: F401
                                PIPELINE_RUN, PIPELINE_SEGMENT, PLAN_RUN, RECORD_POISON, RECORD_RUN, RUN_STEP,
                                SCHEMA_VERSION)
