"""The typed model: the pipeline spec, wire contracts, records, statuses, compute targets, references and schedules (no I/O)."""
