"""The waits the orchestrator and the executors agree on: timeout grace and the backoff of remote polls."""
from __future__ import annotations

# A local step with a timeout: its activity kills it at its timeout and reports the failure with
# its log; the orchestrator's own timer fires TIMEOUT_GRACE_S later, a backstop for an activity
# that never reports. The activity kills the step at least REPORT_MARGIN_S before that backstop,
# so a step that waited for a worker slot still fails with its log.
TIMEOUT_GRACE_S = 10.0
REPORT_MARGIN_S = 5.0

# Polls of a remote job wait FIRST_POLL_S, then twice as long each time, up to MAX_POLL_S; a
# history holds POLLS_PER_HISTORY polls before the waiting continues as new, so its size is
# bounded whatever the job's length.
FIRST_POLL_S = 1.0
MAX_POLL_S = 300.0
POLLS_PER_HISTORY = 5

# A step's fingerprint is leased while it executes (durapipe.store.leases): the lease lasts LEASE_S
# and its holder renews it every LEASE_HEARTBEAT_S, so a holder that died is taken over within
# LEASE_S. Another run of the same fingerprint polls for its commit from LEASE_FIRST_POLL_S, half
# as often again each time, up to LEASE_MAX_POLL_S.
LEASE_S = 60.0
LEASE_HEARTBEAT_S = 15.0
LEASE_FIRST_POLL_S = 0.05
LEASE_MAX_POLL_S = 2.0


def poll_delay(polls_done: int) -> float:
    """Seconds to wait before the next poll of a remote job polled `polls_done` times already."""
    return min(FIRST_POLL_S * 2.0 ** max(0, polls_done), MAX_POLL_S)
