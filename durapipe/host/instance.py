"""One orchestration instance's history and the host's bookkeeping of sequence ids, retries and open work."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from durapipe.host import history as h
from durapipe.host.episode import EpisodeResult
from durapipe.host.sdk_compat import ActionType, EventType
from durapipe.model.statuses import TERMINAL, RuntimeStatus

PENDING, RUNNING, COMPLETED = RuntimeStatus.Pending, RuntimeStatus.Running, RuntimeStatus.Completed
FAILED, TERMINATED = RuntimeStatus.Failed, RuntimeStatus.Terminated

CALL_ACTIVITY, CALL_ACTIVITY_RETRY = ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY
CALL_SUB, CALL_SUB_RETRY = ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY
CONTINUE_AS_NEW, CREATE_TIMER = ActionType.CONTINUE_AS_NEW, ActionType.CREATE_TIMER
UNSUPPORTED = {ActionType.CALL_ENTITY: "CallEntity", ActionType.CALL_HTTP: "CallHttp",
               ActionType.SIGNAL_ENTITY: "SignalEntity"}
# Host-only annotations kept in the journal so a reloaded instance knows its retries; never sent to the SDK.
RETRY_KEY, RETRY_OF_KEY = "_retry", "_retry_of"


def retry_delay_ms(options: dict[str, Any], attempt: int) -> float:
    """The backoff before attempt `attempt + 1`: first interval x coefficient^(attempt-1), capped."""
    delay = float(options["firstRetryIntervalInMilliseconds"])
    delay *= float(options.get("backoffCoefficient", 1.0)) ** (attempt - 1)
    cap = options.get("maxRetryIntervalInMilliseconds")
    return min(delay, float(cap)) if cap else delay


# The SDK never reads the input of work it scheduled when it replays (it matches completions
# by id and name), and those inputs are most of a history's bytes: every step's input in a
# segment, the whole request in a run. They stay in the journal; episodes leave them out.
_INPUT_UNREAD = (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)


def event_text(event: dict[str, Any], played: bool) -> str:
    """The JSON text the SDK receives for this event."""
    unread = event.get("EventType") in _INPUT_UNREAD
    sent = {k: v for k, v in event.items() if not k.startswith("_") and not (unread and k == "Input")}
    sent["IsPlayed"] = played
    return json.dumps(sent)


@dataclass
class Retry:
    """A call-with-retry: its scheduling event (name, input, instance) and options, and attempts so far."""

    first_id: int
    scheduling: dict[str, Any]
    options: dict[str, Any]
    attempts: int = 1

    @property
    def exhausted(self) -> bool:
        """True once the last allowed attempt has been made."""
        return self.attempts >= int(self.options["maxNumberOfAttempts"])


@dataclass
class Work:
    """What the host must start after an episode."""

    activities: list[dict[str, Any]] = field(default_factory=list)   # TaskScheduled events
    timers: list[dict[str, Any]] = field(default_factory=list)       # TimerCreated events
    children: list[dict[str, Any]] = field(default_factory=list)     # SubOrchestrationInstanceCreated events
    cancelled_timers: list[int] = field(default_factory=list)


@dataclass
class Instance:
    """An orchestration instance: metadata, status, history, inbox and replay bookkeeping."""

    instance_id: str
    name: str
    input_text: str | None
    created: str
    parent_id: str | None = None
    parent_task_id: int | None = None
    status: str = PENDING
    output: Any = None
    custom_status: Any = None
    last_updated: str = ""
    saved_status: str | None = None  # the runtime status meta.json last recorded
    events: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    inbox: list[dict[str, Any]] = field(default_factory=list)
    episodes: int = 0
    generation: int = 0
    terminate_reason: str | None = None
    next_id: int = 0
    leaf_count: int = 0
    timer_leaves: dict[int, int] = field(default_factory=dict)
    retries: dict[int, Retry] = field(default_factory=dict)
    retry_of: dict[int, Retry] = field(default_factory=dict)
    open_activities: dict[int, dict[str, Any]] = field(default_factory=dict)
    open_timers: dict[int, dict[str, Any]] = field(default_factory=dict)
    open_children: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """True when the status is terminal (this host ends instances as Completed, Failed or Terminated)."""
        return self.status in TERMINAL

    def reset_execution(self, input_text: str | None) -> None:
        """Start a fresh execution (continue-as-new): new input, empty history and bookkeeping."""
        fresh = Instance(self.instance_id, self.name, input_text, self.created, self.parent_id,
                         self.parent_task_id, status=RUNNING, custom_status=self.custom_status,
                         inbox=self.inbox, episodes=self.episodes, generation=self.generation + 1)
        self.__dict__.update(fresh.__dict__)

    def note(self, event: dict[str, Any]) -> None:
        """Update the bookkeeping for one event appended to the history (live or when reloading)."""
        self.events.append(event)
        kind = event["EventType"]
        if kind in (EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED):
            self._note_scheduling(event)
        elif kind in (EventType.TASK_COMPLETED, EventType.TASK_FAILED):
            self.open_activities.pop(event["TaskScheduledId"], None)
        elif kind in (EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
            self.open_children.pop(event["TaskScheduledId"], None)
        elif kind == EventType.TIMER_FIRED:
            self.open_timers.pop(event["TimerId"], None)

    def _note_scheduling(self, event: dict[str, Any]) -> None:
        event_id = event["EventId"]
        self.next_id = max(self.next_id, event_id + 1)
        kind = event["EventType"]
        opened = {EventType.TASK_SCHEDULED: self.open_activities, EventType.TIMER_CREATED: self.open_timers,
                  EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: self.open_children}[kind]
        opened[event_id] = event
        if RETRY_OF_KEY in event:
            retry = self.retries[event[RETRY_OF_KEY]]
            self.retry_of[event_id] = retry
            if kind != EventType.TIMER_CREATED:
                retry.attempts += 1
            return
        if RETRY_KEY in event:
            retry = Retry(event_id, event, event[RETRY_KEY])
            self.retries[event_id] = self.retry_of[event_id] = retry
        if kind == EventType.TIMER_CREATED:
            self.timer_leaves[self.leaf_count] = event_id
        self.leaf_count += 1

    def consumes_retry_id(self, event: dict[str, Any]) -> bool:
        """True when the SDK hands out a sequence id while processing this event (retry timer or re-attempt)."""
        kind = event["EventType"]
        if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
            return event["TaskScheduledId"] in self.retry_of
        if kind == EventType.TIMER_FIRED:
            retry = self.retry_of.get(event["TimerId"])
            return retry is not None and not retry.exhausted
        return False

    def take_batch(self) -> list[dict[str, Any]]:
        """Every event in the inbox, except that at most one retry-id-consuming event goes, and goes last.

        The SDK numbers retry timers and re-attempts while it replays the failure or timer event,
        interleaved with tasks the generator yields in between. With the one such event last in its
        episode, every new task the episode yields comes before it, so the host knows each id.
        """
        batch, held, consuming = [], [], None
        for event in self.inbox:
            if not self.consumes_retry_id(event):
                batch.append(event)
            elif consuming is None:
                consuming = event
            else:
                held.append(event)
        self.inbox = held
        return batch + ([consuming] if consuming is not None else [])

    def decide(self, result: EpisodeResult, batch: list[dict[str, Any]], now: str) -> tuple[list[dict[str, Any]], Work]:
        """The scheduling events this episode's new actions and retry bookkeeping produce, and the work to start."""
        work = Work()
        produced: list[dict[str, Any]] = []
        for index, timer_id in self.timer_leaves.items():
            if index < len(result.leaves) and result.leaves[index].get("isCanceled") and timer_id in self.open_timers:
                work.cancelled_timers.append(timer_id)
        for leaf in result.leaves[self.leaf_count:]:
            produced.append(self._schedule_leaf(leaf, now))
        if batch and self.consumes_retry_id(batch[-1]):
            produced.append(self._schedule_retry(batch[-1], now))
        for event in produced:
            self.note(event)
            {EventType.TASK_SCHEDULED: work.activities, EventType.TIMER_CREATED: work.timers,
             EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: work.children}[event["EventType"]].append(event)
        return produced, work

    def _schedule_leaf(self, leaf: dict[str, Any], now: str) -> dict[str, Any]:
        event_id = self.next_id + 0
        self.next_id += 1
        kind = leaf["actionType"]
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY):
            event = h.task_scheduled(now, event_id, leaf["functionName"], leaf.get("input"))
        elif kind in (CALL_SUB, CALL_SUB_RETRY):
            child_id = leaf.get("instanceId") or f"{self.instance_id}:{event_id:04d}"
            event = h.sub_orchestration_created(now, event_id, leaf["functionName"], child_id, leaf.get("input"))
        elif kind == CREATE_TIMER:
            event = h.timer_created(now, event_id, leaf["fireAt"])
        else:
            raise AssertionError(f"unexpected action {kind}")
        if kind in (CALL_ACTIVITY_RETRY, CALL_SUB_RETRY):
            event[RETRY_KEY] = leaf["retryOptions"]
        return event

    def _schedule_retry(self, event: dict[str, Any], now: str) -> dict[str, Any]:
        event_id = self.next_id
        if event["EventType"] == EventType.TIMER_FIRED:
            retry = self.retry_of[event["TimerId"]]
            first = retry.scheduling
            if first["EventType"] == EventType.TASK_SCHEDULED:
                again = h.task_scheduled(now, event_id, first["Name"], first.get("Input"))
            else:
                again = h.sub_orchestration_created(now, event_id, first["Name"], first["InstanceId"], first.get("Input"))
            again[RETRY_OF_KEY] = retry.first_id
            return again
        retry = self.retry_of[event["TaskScheduledId"]]
        # After the last attempt the SDK still waits for one more timer before it raises; it carries
        # no meaning, so it fires at once.
        delay = 0.0 if retry.exhausted else retry_delay_ms(retry.options, retry.attempts)
        fire_at = h.format_time(h.parse_time(now) + dt.timedelta(milliseconds=delay))
        timer = h.timer_created(now, event_id, fire_at)
        timer[RETRY_OF_KEY] = retry.first_id
        return timer

    def unsupported_action(self, result: EpisodeResult) -> str | None:
        """The name of the first new action the local host cannot run, or None."""
        for leaf in result.leaves[self.leaf_count:]:
            if leaf.get("actionType") in UNSUPPORTED:
                return UNSUPPORTED[leaf["actionType"]]
        return None

    def continue_as_new_input(self, result: EpisodeResult) -> tuple[bool, str | None]:
        """(True, input text) when the orchestrator called continue_as_new in this episode."""
        for leaf in result.leaves:
            if leaf.get("actionType") == CONTINUE_AS_NEW:
                return True, leaf.get("input")
        return False, None
