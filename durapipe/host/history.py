"""Builders for Durable history events, shaped exactly as the Durable extension sends them."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from durapipe.host.sdk_compat import EventType


def format_time(moment: dt.datetime) -> str:
    """ISO-8601 UTC text with microseconds and a Z, as the extension writes timestamps."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """A timezone-aware UTC datetime from ISO-8601 text (a naive time is taken as UTC)."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class Clock:
    """Hands out strictly increasing UTC timestamps (the SDK needs OrchestratorStarted to move forward)."""

    def __init__(self) -> None:
        self._last = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        self._lock = threading.Lock()

    def observe(self, text: str) -> None:
        """Never hand out a time at or before this one (used when a journal is reloaded)."""
        with self._lock:
            self._last = max(self._last, parse_time(text))

    def now(self) -> str:
        """The current time as event text, at least one microsecond after the previous one."""
        with self._lock:
            moment = dt.datetime.now(dt.timezone.utc)
            if moment <= self._last:
                moment = self._last + dt.timedelta(microseconds=1)
            self._last = moment
            return format_time(moment)


def _event(event_type: EventType, timestamp: str, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {"EventType": int(event_type), "EventId": event_id, "IsPlayed": False,
            "Timestamp": timestamp, **fields}


def orchestrator_started(timestamp: str) -> dict[str, Any]:
    """OrchestratorStarted: opens an episode; its timestamp becomes current_utc_datetime."""
    return _event(EventType.ORCHESTRATOR_STARTED, timestamp)


def orchestrator_completed(timestamp: str) -> dict[str, Any]:
    """OrchestratorCompleted: closes an episode."""
    return _event(EventType.ORCHESTRATOR_COMPLETED, timestamp)


def execution_started(timestamp: str, name: str, input_text: str | None, instance_id: str,
                      parent_instance_id: str | None = None, version: str = "") -> dict[str, Any]:
    """ExecutionStarted: the orchestration's name and input (JSON text); Version must be present."""
    return _event(EventType.EXECUTION_STARTED, timestamp, Name=name, Input=input_text,
                  Version=version, OrchestrationInstance={"InstanceId": instance_id},
                  ParentInstance=parent_instance_id)


def execution_completed(timestamp: str, status: str, result: str | None) -> dict[str, Any]:
    """ExecutionCompleted: the final status ('Completed' or 'Failed') and result text."""
    return _event(EventType.EXECUTION_COMPLETED, timestamp, OrchestrationStatus=status, Result=result)


def execution_terminated(timestamp: str, reason: str) -> dict[str, Any]:
    """ExecutionTerminated: the orchestration was terminated with this reason."""
    return _event(EventType.EXECUTION_TERMINATED, timestamp, Input=reason)


def task_scheduled(timestamp: str, event_id: int, name: str, input_text: str | None) -> dict[str, Any]:
    """TaskScheduled: activity `name` was scheduled as task `event_id`."""
    return _event(EventType.TASK_SCHEDULED, timestamp, event_id, Name=name, Input=input_text)


def task_completed(timestamp: str, scheduled_id: int, result_text: str) -> dict[str, Any]:
    """TaskCompleted: the activity's JSON result text; Result must be present."""
    return _event(EventType.TASK_COMPLETED, timestamp, TaskScheduledId=scheduled_id, Result=result_text)


def task_failed(timestamp: str, scheduled_id: int, reason: str, details: str) -> dict[str, Any]:
    """TaskFailed: reaches the orchestrator as Exception(f"{Reason} \\n {Details}")."""
    return _event(EventType.TASK_FAILED, timestamp, TaskScheduledId=scheduled_id, Reason=reason,
                  Details=details)


def sub_orchestration_created(timestamp: str, event_id: int, name: str, instance_id: str,
                              input_text: str | None) -> dict[str, Any]:
    """SubOrchestrationInstanceCreated: child `instance_id` started as task `event_id`."""
    return _event(EventType.SUB_ORCHESTRATION_INSTANCE_CREATED, timestamp, event_id, Name=name,
                  InstanceId=instance_id, Input=input_text)


def sub_orchestration_completed(timestamp: str, scheduled_id: int, result_text: str) -> dict[str, Any]:
    """SubOrchestrationInstanceCompleted: the child's output as JSON text."""
    return _event(EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, timestamp, TaskScheduledId=scheduled_id,
                  Result=result_text)


def sub_orchestration_failed(timestamp: str, scheduled_id: int, reason: str, details: str) -> dict[str, Any]:
    """SubOrchestrationInstanceFailed: the child's error."""
    return _event(EventType.SUB_ORCHESTRATION_INSTANCE_FAILED, timestamp, TaskScheduledId=scheduled_id,
                  Reason=reason, Details=details)


def timer_created(timestamp: str, event_id: int, fire_at: str) -> dict[str, Any]:
    """TimerCreated: timer `event_id` will fire at `fire_at`."""
    return _event(EventType.TIMER_CREATED, timestamp, event_id, FireAt=fire_at)


def timer_fired(timestamp: str, timer_id: int, fire_at: str) -> dict[str, Any]:
    """TimerFired: points back to its TimerCreated by TimerId (which must be present)."""
    return _event(EventType.TIMER_FIRED, timestamp, TimerId=timer_id, FireAt=fire_at)


def event_raised(timestamp: str, name: str, input_text: str | None) -> dict[str, Any]:
    """EventRaised: an external event matched by Name, payload JSON text in Input."""
    return _event(EventType.EVENT_RAISED, timestamp, Name=name, Input=input_text)


def continue_as_new(timestamp: str, input_text: str | None) -> dict[str, Any]:
    """ContinueAsNew: the execution ended and a new one starts with this input."""
    return _event(EventType.CONTINUE_AS_NEW, timestamp, Input=input_text)
