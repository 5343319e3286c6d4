"""The local Durable host: drives orchestrators through the SDK's replay protocol on one machine."""
from __future__ import annotations

import heapq
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any, Callable, Protocol

from durapipe.core.errors import LocalHostError
from durapipe.host import history as h
from durapipe.host.app_loader import FunctionInfo, LoadedApp
from durapipe.host.episode import EpisodeResult, build_context, run_episode
from durapipe.host.instance import COMPLETED, FAILED, RUNNING, TERMINATED, Instance, Work, event_text
from durapipe.host.journal import Journal
from durapipe.host.locks import FileLock, lock_holder
from durapipe.host import sdk_compat
from durapipe.host.sdk_compat import EventType, df_dumps
from durapipe.host.workers import ActivityPool, Outcome
from durapipe.model.statuses import ACTIVE, TERMINAL, orchestrator_failed

# How long an episode waits for a sibling completion, and at most in all (see _gather_completions).
COALESCE_S = 0.004
COALESCE_MAX_S = 0.05
log = logging.getLogger(__name__)


class InstanceBusy(LocalHostError):
    """The instance is driven by another live process (its lock is held); nothing was done to it."""


class ActivityRunner(Protocol):
    """Runs activities somewhere and reports each outcome through a callback."""

    def submit(self, name: str, input_text: str | None, on_done: Callable[[Outcome], None]) -> None: ...

    def close(self) -> None: ...


class LocalHost:
    """Runs orchestrations of a loaded app; every public method is thread-safe."""

    def __init__(self, app: LoadedApp, state_dir: Path, max_parallel: int | None = None,
                 activity_runner: ActivityRunner | None = None, env: dict[str, str] | None = None,
                 coalesce_s: float = COALESCE_S) -> None:
        self.app = app
        self.coalesce_s = coalesce_s
        sdk_compat.install()
        self.state_dir = Path(state_dir)
        self.journal = Journal(self.state_dir)
        self.max_parallel = max_parallel or os.cpu_count() or 1
        self._env = dict(env or {})
        self._runner = activity_runner
        self._clock = h.Clock()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._instances: dict[str, Instance] = {}
        self._ready: deque[str] = deque()
        self._ready_set: set[str] = set()
        self._timers: list[tuple[float, int, str, int, int, str]] = []
        self._timer_seq = itertools.count()
        self._held = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._async: Any = None
        # The instances this host drives: a flock each, so no other process drives them at once.
        self._claims: dict[str, FileLock] = {}
        self._finish_listeners: list[Callable[[str, str, Any], None]] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "LocalHost":
        """Start the dispatcher thread (and the activity worker pool)."""
        with self._lock:
            if self._thread is not None:
                return self
            if self._runner is None:
                self._runner = ActivityPool(self.app.script_root, self.app.script_file,
                                            self.max_parallel, self._env, self.state_dir)
            self._stopping = False
            self._thread = threading.Thread(target=self._dispatch_loop, name="durapipe-dispatcher",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop dispatching, the client event loop and the worker pool; unfinished instances stay in the journal."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._async is not None:
            self._async.close()
            self._async = None
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        with self._lock:
            claims, self._claims = self._claims, {}
        for claim in claims.values():
            claim.release()

    def __enter__(self) -> "LocalHost":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- client API ------------------------------------------------------------------------

    def start_new(self, orchestrator_name: str, instance_id: str | None = None, input: Any = None) -> str:
        """Start an orchestration; an unfinished instance with the same id is kept and its id returned."""
        return self.start_new_json(orchestrator_name, instance_id,
                                   None if input is None else df_dumps(input))

    def start_new_json(self, orchestrator_name: str, instance_id: str | None, input_text: str | None,
                       parent: tuple[str, int] | None = None) -> str:
        """start_new with the input already as JSON text (as the durable client sends it)."""
        info = self._orchestrator(orchestrator_name)
        instance_id = instance_id or uuid.uuid4().hex
        with self._changed:
            current = self._instances.get(instance_id)
            try:
                if current is None and self.resume(instance_id):
                    current = self._instances.get(instance_id)
            except InstanceBusy:
                return instance_id  # another live host drives it
            if current is not None and not current.finished:
                return instance_id
            if not self._claim(instance_id):
                return instance_id
            now = self._clock.now()
            inst = Instance(instance_id, info.name, input_text, created=now, last_updated=now,
                            parent_id=parent[0] if parent else None,
                            parent_task_id=parent[1] if parent else None)
            self.journal.purge(instance_id)
            self._instances[instance_id] = inst
            self._save_meta(inst)
            self._mark_ready(inst)
        return instance_id

    def get_status(self, instance_id: str, show_history: bool = False, show_input: bool = True) -> dict[str, Any]:
        """Durable-style status of the instance (raises LocalHostError when unknown); input is None unless shown."""
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is not None:
                return self._status(inst, show_history, show_input)
        meta = self.journal.read_meta(instance_id)
        if meta is None:
            raise LocalHostError(f"No orchestration instance with id {instance_id!r} exists.")
        status = self._status_from_meta(meta, show_input)
        if show_history:
            status["history"] = [_public(e) for e in self.journal.read_history(instance_id)]
        return status

    def wait(self, instance_id: str, timeout: float | None = None, show_input: bool = True) -> dict[str, Any]:
        """Block until the instance finishes (or the timeout passes) and return its status (input only if shown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                inst = self._instances.get(instance_id)
                if inst is None or inst.finished:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._changed.wait(remaining)
        return self.get_status(instance_id, show_input=show_input)

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Deliver an external event to a running instance."""
        self.raise_event_json(instance_id, name, json.dumps(data))

    def raise_event_json(self, instance_id: str, name: str, data_text: str | None) -> None:
        """raise_event with the payload already as JSON text."""
        with self._changed:
            inst = self._live(instance_id)
            inst.inbox.append(h.event_raised(self._clock.now(), name, data_text))
            self._mark_ready(inst)

    def terminate(self, instance_id: str, reason: str = "") -> None:
        """Terminate a running instance; its pending work is abandoned."""
        with self._changed:
            inst = self._live(instance_id)
            inst.terminate_reason = reason
            self._mark_ready(inst)

    def purge(self, instance_id: str) -> bool:
        """Forget the instance and delete its journal; False when there was nothing to delete."""
        with self._changed:
            known = self._instances.pop(instance_id, None) is not None
            known = known or self.journal.read_meta(instance_id) is not None
            self.journal.purge(instance_id)
            self._release(instance_id)
            self._changed.notify_all()
        return known

    def list_instances(self, statuses: list[str] | None = None, created_from: str | None = None,
                       created_to: str | None = None, prefix: str | None = None) -> list[dict[str, Any]]:
        """Status of every instance (loaded or journaled) matching the filters."""
        with self._lock:
            found = {i: self._status(inst, False, True) for i, inst in self._instances.items()}
        for meta in self.journal.metas():
            found.setdefault(meta["instanceId"], self._status_from_meta(meta))
        out = []
        for status in found.values():
            if statuses and status["runtimeStatus"] not in statuses:
                continue
            if prefix and not status["instanceId"].startswith(prefix):
                continue
            created = h.parse_time(status["createdTime"])
            if created_from and created < h.parse_time(created_from):
                continue
            if created_to and created > h.parse_time(created_to):
                continue
            out.append(status)
        return sorted(out, key=lambda s: s["createdTime"])

    def episode_count(self, instance_id: str) -> int:
        """How many times this host has invoked the instance's orchestrator (a finished one's, from its journal)."""
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is not None:
                return inst.episodes
        meta = self.journal.read_meta(instance_id)
        if meta is None:
            raise LocalHostError(f"No orchestration instance with id {instance_id!r} exists.")
        return int(meta.get("episodes", 0))

    def pending_events(self, instance_id: str) -> int:
        """How many arrived events wait for the instance's next episode."""
        with self._lock:
            return len(self._instances[instance_id].inbox)

    def on_finish(self, listener: Callable[[str, str, Any], None]) -> None:
        """Call listener(instance_id, runtime status, output) as each instance ends (on the dispatcher: be quick)."""
        self._finish_listeners.append(listener)

    def hold(self) -> "_Hold":
        """A context manager that keeps the dispatcher from running episodes while it is held."""
        return _Hold(self)

    # -- durable client ----------------------------------------------------------------------

    def _async_runner(self) -> Any:
        """The one long-lived event loop that durable client code runs on."""
        from durapipe.host.async_runner import AsyncRunner
        with self._lock:
            if self._async is None:
                self._async = AsyncRunner()
            return self._async

    # -- resume ----------------------------------------------------------------------------

    def resume_unfinished(self, keep: Callable[[str], bool] | None = None) -> list[str]:
        """Load and continue every unfinished instance in the journal no live host drives; returns their ids.

        Given `keep`, an instance resumes only when `keep` accepts the id of its top-level instance (the run).
        """
        resumed = []
        for meta in list(self.journal.metas()):
            if meta["runtimeStatus"] not in ACTIVE or (keep is not None and not keep(self._top_level_id(meta))):
                continue
            try:
                if self.resume(meta["instanceId"]):
                    resumed.append(meta["instanceId"])
            except InstanceBusy:
                continue  # another process runs it: it is live, not interrupted
        return resumed

    def _top_level_id(self, meta: dict[str, Any]) -> str:
        """The id of the instance that started `meta`'s instance, through its sub-orchestration parents."""
        seen = {meta["instanceId"]}
        while meta.get("parentInstanceId") and meta["parentInstanceId"] not in seen:
            parent = self.journal.read_meta(meta["parentInstanceId"])
            if parent is None:
                return meta["parentInstanceId"]
            meta = parent
            seen.add(meta["instanceId"])
        return meta["instanceId"]

    def resume(self, instance_id: str) -> bool:
        """Load one unfinished instance from the journal and re-start its open work; False if nothing to do.

        Raises InstanceBusy when another live process drives it (its lock is held).
        """
        with self._changed:
            if instance_id in self._instances:
                return False
            meta = self.journal.read_meta(instance_id)
            if meta is None or meta["runtimeStatus"] not in ACTIVE:
                return False
            if not self._claim(instance_id):
                holder = lock_holder(self.journal.lock_path(instance_id))
                raise InstanceBusy(f"Run {instance_id} is still being run by another durapipe process"
                                   f"{f' (pid {holder})' if holder and holder > 0 else ''}; wait for it to end "
                                   "or stop that process first.")
            inst = Instance(instance_id, meta["name"], meta.get("input"), created=meta["createdTime"],
                            parent_id=meta.get("parentInstanceId"), parent_task_id=meta.get("parentTaskId"),
                            status=meta["runtimeStatus"], saved_status=meta["runtimeStatus"],
                            custom_status=meta.get("customStatus"),
                            last_updated=meta["lastUpdatedTime"])
            events = self.journal.read_history(instance_id)
            if events and events[-1]["EventType"] == EventType.CONTINUE_AS_NEW:
                # The host died between closing an execution and starting the next one.
                inst.input_text = events[-1].get("Input")
                self.journal.reset_history(instance_id)
                events = []
            for event in events:
                self._clock.observe(event["Timestamp"])
                inst.note(event)
                inst.texts.append(event_text(event, True))
            self._instances[instance_id] = inst
            self._restart_open_work(inst)
            if not inst.events or inst.inbox:
                self._mark_ready(inst)
            return True

    def _claim(self, instance_id: str) -> bool:
        """Take the instance's lock for this host (kept until it finishes or the host stops)."""
        claim = self._claims.get(instance_id)
        if claim is None:
            claim = FileLock(self.journal.lock_path(instance_id))
            if not claim.acquire():
                return False
            self._claims[instance_id] = claim
        return True

    def _release(self, instance_id: str) -> None:
        claim = self._claims.pop(instance_id, None)
        if claim is not None:
            claim.release()

    def _restart_open_work(self, inst: Instance) -> None:
        # Scheduled work with no completion in the journal is started again: activities re-run,
        # timers re-arm at their fire time, children are resumed (or report their finished result).
        work = Work(activities=list(inst.open_activities.values()), timers=list(inst.open_timers.values()),
                    children=list(inst.open_children.values()))
        self._start_work(inst, work)

    # -- the dispatcher --------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while True:
            with self._changed:
                if self._stopping:
                    return
                self._fire_due_timers()
                if self._held or not self._ready:
                    self._changed.wait(self._until_next_timer())
                    continue
                instance_id = self._ready.popleft()
                self._ready_set.discard(instance_id)
                inst = self._instances.get(instance_id)
                if inst is not None:
                    self._gather_completions(inst)
            if inst is None:
                continue
            try:
                self._process(inst)
            except Exception as exc:  # a host bug must not stop every other instance
                log.exception("episode of %s failed", instance_id)
                with self._changed:
                    self._finish(inst, FAILED, f"The local host failed while running the orchestration: {exc!r}.")

    def _gather_completions(self, inst: Instance) -> None:
        """Wait briefly while more of the instance's work is finishing, so one episode takes them all.

        Every episode replays the whole history, so episodes, not tasks, are the unit of cost.
        The Azure host batches the completions that arrive together; here a completion gets
        `coalesce_s` for a sibling to follow, up to COALESCE_MAX_S in all. The wait ends at once
        when nothing else is in flight. Called with the lock held; the wait releases it.
        """
        if self.coalesce_s <= 0:
            return
        deadline = time.monotonic() + COALESCE_MAX_S
        while not self._stopping and len(inst.inbox) < len(inst.open_activities) + len(inst.open_children):
            seen = len(inst.inbox)
            remaining = min(self.coalesce_s, deadline - time.monotonic())
            if remaining <= 0:
                return
            self._changed.wait(remaining)
            if len(inst.inbox) == seen:
                return

    def _until_next_timer(self) -> float | None:
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - time.time())

    def _fire_due_timers(self) -> None:
        now = time.time()
        while self._timers and self._timers[0][0] <= now:
            _, _, instance_id, generation, timer_id, fire_at = heapq.heappop(self._timers)
            inst = self._instances.get(instance_id)
            if inst is None or inst.generation != generation or inst.finished or timer_id not in inst.open_timers:
                continue
            if any(e.get("TimerId") == timer_id for e in inst.inbox):
                continue
            inst.inbox.append(h.timer_fired(self._clock.now(), timer_id, fire_at))
            self._mark_ready(inst)

    def _process(self, inst: Instance) -> None:
        with self._changed:
            if inst.finished or self._instances.get(inst.instance_id) is not inst:
                return
            if inst.terminate_reason is not None:
                self._finish(inst, TERMINATED, inst.terminate_reason)
                return
            first = not inst.events
            batch = inst.take_batch()
            if not first and not batch:
                return
            now = self._clock.now()
            new = [h.orchestrator_started(now)]
            if first:
                new.append(h.execution_started(now, inst.name, inst.input_text, inst.instance_id,
                                               inst.parent_id))
            new.extend(batch)
            for event in new:
                inst.note(event)
            inst.status = RUNNING
        context = build_context(inst.texts + [event_text(e, False) for e in new], inst.input_text,
                                inst.instance_id, inst.parent_id, is_replaying=bool(inst.texts))
        result = run_episode(self._orchestrator(inst.name).user_function, context)
        with self._changed:
            inst.episodes += 1
            if self._instances.get(inst.instance_id) is not inst:
                return  # purged meanwhile
            self._conclude(inst, new, batch, result)

    def _conclude(self, inst: Instance, new: list[dict[str, Any]], batch: list[dict[str, Any]],
                  result: EpisodeResult) -> None:
        now = self._clock.now()
        inst.custom_status = result.custom_status
        unsupported = inst.unsupported_action(result)
        work, tail, final = Work(), [], None
        if result.failed:
            final = (FAILED, orchestrator_failed(inst.name, str(result.error)))
        elif unsupported:
            final = (FAILED, orchestrator_failed(inst.name, f"{unsupported} is not supported by the local host."))
        elif result.done:
            again, next_input = inst.continue_as_new_input(result)
            if again:
                tail = [h.orchestrator_completed(now),
                        h.continue_as_new(now, next_input)]
                self._append(inst, new + tail)
                self.journal.reset_history(inst.instance_id)
                inst.reset_execution(next_input)
                self._save_meta(inst)
                self._mark_ready(inst)
                return
            final = (COMPLETED, result.output)
        else:
            tail, work = inst.decide(result, batch, now)
        # decide() has already noted the scheduling events it produced.
        closing = h.orchestrator_completed(now)
        inst.note(closing)
        tail.append(closing)
        self._append(inst, new + tail)
        if final is not None:
            self._finish(inst, *final)
            return
        inst.last_updated = now
        # meta.json is rewritten only when the runtime status changes, not every episode: a
        # loaded instance's status is read from memory, resuming needs only what meta.json
        # held since creation (name, input, parent, unfinished), and the history is the record
        # of progress. The custom status on disk is the one of the last status change.
        if inst.saved_status != inst.status:
            self._save_meta(inst)
        self._start_work(inst, work)
        if inst.inbox:
            self._mark_ready(inst)

    def _append(self, inst: Instance, events: list[dict[str, Any]]) -> None:
        self.journal.append(inst.instance_id, events)
        # Each event is serialised once, as played, for every later episode.
        inst.texts.extend(event_text(e, True) for e in inst.events[len(inst.texts):])

    def _finish(self, inst: Instance, status: str, output: Any) -> None:
        now = self._clock.now()
        closing = (h.execution_terminated(now, str(output)) if status == TERMINATED else
                   h.execution_completed(now, status, json.dumps(output)))
        inst.note(closing)
        inst.texts.append(event_text(closing, True))
        self.journal.append(inst.instance_id, [closing])
        inst.status, inst.output, inst.last_updated = status, output, now
        inst.inbox.clear()
        self._save_meta(inst)
        self._release(inst.instance_id)
        self._notify_parent(inst)
        # A finished instance lives on in its journal only: a host that serves for months keeps in
        # memory what is running, not every history it has run (status reads fall back to the journal).
        if self._instances.get(inst.instance_id) is inst:
            del self._instances[inst.instance_id]
        self._changed.notify_all()
        for listener in self._finish_listeners:
            try:
                listener(inst.instance_id, status, output)
            except Exception:  # a listener's bug must not stop the dispatcher
                log.exception("a finish listener failed for %s", inst.instance_id)

    def _notify_parent(self, child: Instance) -> None:
        parent = self._instances.get(child.parent_id) if child.parent_id else None
        task_id = child.parent_task_id
        if parent is None or parent.finished or task_id not in parent.open_children:
            return
        if any(e.get("TaskScheduledId") == task_id for e in parent.inbox):
            return
        now = self._clock.now()
        if child.status == COMPLETED:
            event = h.sub_orchestration_completed(now, task_id, json.dumps(child.output))
        else:
            event = h.sub_orchestration_failed(now, task_id, str(child.output), "")
        parent.inbox.append(event)
        self._mark_ready(parent)

    # -- starting work ---------------------------------------------------------------------

    def _start_work(self, inst: Instance, work: Work) -> None:
        for timer_id in work.cancelled_timers:
            inst.open_timers.pop(timer_id, None)
        for event in work.timers:
            fire_at = h.parse_time(event["FireAt"]).timestamp()
            heapq.heappush(self._timers, (fire_at, next(self._timer_seq), inst.instance_id,
                                          inst.generation, event["EventId"], event["FireAt"]))
        for event in work.children:
            self._start_child(inst, event)
        for event in work.activities:
            self._submit_activity(inst, event)
        self._changed.notify_all()

    def _submit_activity(self, inst: Instance, event: dict[str, Any]) -> None:
        task_id, generation = event["EventId"], inst.generation
        if self.app.find(event["Name"], "activityTrigger") is None:
            self._deliver(inst, generation, task_id, Outcome(
                False, reason=f"The app has no activity function named {event['Name']!r}."))
            return

        def done(outcome: Outcome) -> None:
            with self._changed:
                self._deliver(inst, generation, task_id, outcome)

        assert self._runner is not None, "start() the host before running orchestrations"
        self._runner.submit(event["Name"], event.get("Input"), done)

    def _deliver(self, inst: Instance, generation: int, task_id: int, outcome: Outcome) -> None:
        if (self._instances.get(inst.instance_id) is not inst or inst.generation != generation
                or inst.finished or task_id not in inst.open_activities):
            return
        now = self._clock.now()
        event = (h.task_completed(now, task_id, outcome.result or "null") if outcome.ok else
                 h.task_failed(now, task_id, outcome.reason, outcome.details))
        inst.inbox.append(event)
        self._mark_ready(inst)

    def _start_child(self, parent: Instance, event: dict[str, Any]) -> None:
        child_id, task_id = event["InstanceId"], event["EventId"]
        child = self._instances.get(child_id)
        if child is None and self.resume(child_id):
            return
        child = self._instances.get(child_id)
        if child is None:
            meta = self.journal.read_meta(child_id)
            if meta is not None and meta.get("parentInstanceId") == parent.instance_id \
                    and meta.get("parentTaskId") == task_id and not _older(meta["createdTime"], parent):
                # Finished before a crash, but the parent never heard: report it now.
                done = Instance(child_id, meta["name"], meta.get("input"), meta["createdTime"],
                                parent.instance_id, task_id, status=meta["runtimeStatus"],
                                output=meta.get("output"))
                self._notify_parent(done)
                return
        elif child.parent_id == parent.instance_id and child.parent_task_id == task_id \
                and not (child.finished and _older(child.created, parent)):
            if child.finished:
                self._notify_parent(child)
            return
        try:
            self.start_new_json(event["Name"], child_id, event.get("Input"),
                                parent=(parent.instance_id, task_id))
        except LocalHostError as exc:
            parent.inbox.append(h.sub_orchestration_failed(self._clock.now(), task_id, str(exc), ""))
            self._mark_ready(parent)

    # -- helpers ---------------------------------------------------------------------------

    def _mark_ready(self, inst: Instance) -> None:
        if inst.instance_id not in self._ready_set:
            self._ready_set.add(inst.instance_id)
            self._ready.append(inst.instance_id)
        self._changed.notify_all()

    def _orchestrator(self, name: str) -> FunctionInfo:
        info = self.app.find(name, "orchestrationTrigger")
        if info is None:
            raise LocalHostError(f"The app has no orchestrator function named {name!r}.")
        return info

    def _live(self, instance_id: str) -> Instance:
        inst = self._instances.get(instance_id)
        if inst is None:
            meta = self.journal.read_meta(instance_id)
            if meta is None:
                raise LocalHostError(f"No orchestration instance with id {instance_id!r} exists.")
            if meta["runtimeStatus"] in TERMINAL:
                raise LocalHostError(f"The orchestration instance {instance_id!r} has already finished.")
            raise LocalHostError(f"The orchestration instance {instance_id!r} is not running.")
        if inst.finished:
            raise LocalHostError(f"The orchestration instance {instance_id!r} has already finished.")
        return inst

    def _meta(self, inst: Instance) -> dict[str, Any]:
        return {"name": inst.name, "instanceId": inst.instance_id, "input": inst.input_text,
                "runtimeStatus": inst.status, "output": inst.output, "customStatus": inst.custom_status,
                "createdTime": inst.created, "lastUpdatedTime": inst.last_updated or inst.created,
                "parentInstanceId": inst.parent_id, "parentTaskId": inst.parent_task_id, "episodes": inst.episodes}

    def _save_meta(self, inst: Instance) -> None:
        self.journal.write_meta(inst.instance_id, self._meta(inst))
        inst.saved_status = inst.status

    def _status(self, inst: Instance, show_history: bool, show_input: bool) -> dict[str, Any]:
        status = self._status_from_meta(self._meta(inst), show_input)
        if show_history:
            status["history"] = [_public(e) for e in inst.events]
        return status

    @staticmethod
    def _status_from_meta(meta: dict[str, Any], show_input: bool = True) -> dict[str, Any]:
        # A run's input holds its whole spec: parsing it on every progress poll is the cost of
        # a large run's polling, and the progress view never reads it.
        input_text = meta.get("input") if show_input else None
        return {"name": meta["name"], "instanceId": meta["instanceId"],
                "runtimeStatus": meta["runtimeStatus"],
                "input": None if input_text is None else json.loads(input_text),
                "output": meta.get("output"), "customStatus": meta.get("customStatus"),
                "createdTime": meta["createdTime"], "lastUpdatedTime": meta["lastUpdatedTime"]}


def _public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if not k.startswith("_")}


class _Hold:
    def __init__(self, host: LocalHost) -> None:
        self._host = host

    def __enter__(self) -> None:
        with self._host._changed:
            self._host._held = True

    def __exit__(self, *exc: Any) -> None:
        with self._host._changed:
            self._host._held = False
            self._host._changed.notify_all()


def _older(created: str, parent: Instance) -> bool:
    """Whether a child created at `created` is older than `parent`: the parent was started again (a
    failed run restarted under its id), so the child's result belongs to the earlier execution."""
    return h.parse_time(created) < h.parse_time(parent.created)
