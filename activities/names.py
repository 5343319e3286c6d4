"""Function names of the activities and orchestrators: one constant used where each is
registered and where it is called, so the two can never drift apart."""

PIPELINE_RUN = "pipeline_run"
MAP_PARTITIONS = "map_partitions"
PIPELINE_SEGMENT = "pipeline_segment"

PLAN_RUN = "plan_run"
RUN_STEP = "run_step"
LIST_PARTITIONS = "list_partitions"
GATHER_PARTITIONS = "gather_partitions"
RECORD_RUN = "record_run"

SCHEMA_VERSION = 1

BLOB_ARRIVAL = "blob_arrival"
RECORD_POISON = "record_poison"
