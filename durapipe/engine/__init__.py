"""The engine: planning, executing a step, recording, partitions, input binding, scheduling (no Durable code)."""
