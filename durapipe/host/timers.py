"""Timer triggers on one machine: six-field NCRONTAB schedules (seconds first, UTC), one invocation per tick."""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from azure.functions.timer import TimerRequest

from durapipe.core.errors import UsageError
from durapipe.host.app_loader import FunctionInfo, LoadedApp
from durapipe.model.schedule import latest_tick, parse_schedule
from durapipe.model.schedule import next_tick as schedule_next_tick
from durapipe.host.state_file import load_state, save_state

log = logging.getLogger(__name__)

STATE_FILE = "timers.json"
# A tick fired this much after its time is reported as past due.
LATE_S = 1.0
_SETTING = re.compile(r"%([^%]+)%")


@dataclass(frozen=True)
class TimerSchedule:
    """One timer-triggered function, its resolved NCRONTAB expression and runOnStartup."""

    function: FunctionInfo
    expression: str
    run_on_startup: bool


class MissingSetting(UsageError):
    """A binding names an app setting that is not set: the Functions host disables that function."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


def resolve_settings(text: str, env: Mapping[str, str], where: str) -> str:
    """`text` with every %NAME% replaced by the app setting (environment variable) NAME."""
    def lookup(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in env:
            raise MissingSetting(f"{where} uses the app setting %{name}%, which is not set; "
                                 f"set {name} in the environment.", name)
        return env[name]
    return _SETTING.sub(lookup, text)


def check_schedule(expression: str, where: str) -> str:
    """The expression when it is a valid six-field NCRONTAB (seconds first), else UsageError."""
    return parse_schedule(expression, where)


def next_tick(expression: str, after: float) -> float:
    """The first tick of the schedule strictly after `after` (epoch seconds, UTC)."""
    return schedule_next_tick(expression, datetime.fromtimestamp(after, tz=timezone.utc)).timestamp()


def timer_schedules(app: LoadedApp, env: Mapping[str, str] | None = None) -> list[TimerSchedule]:
    """A TimerSchedule per timerTrigger function; a bad expression raises UsageError.

    A function whose schedule names an unset app setting is disabled with one warning, as the
    Functions host does, and the others still fire.
    """
    env = os.environ if env is None else env
    schedules = []
    for fn in app.by_trigger("timerTrigger"):
        where = f"The timer trigger {fn.name!r}"
        try:
            expression = resolve_settings(str(fn.trigger.get("schedule") or ""), env, where)
        except MissingSetting as exc:
            log.warning("function %s is disabled: its schedule uses the app setting %%%s%%, which is not set",
                        fn.name, exc.setting)
            continue
        schedules.append(TimerSchedule(fn, check_schedule(expression, where),
                                       bool(fn.trigger.get("runOnStartup", False))))
    return schedules


class TimerScheduler:
    """Fires each schedule on its own thread; ticks missed while down or busy fire once, marked past due."""

    def __init__(self, schedules: list[TimerSchedule], invoke: Callable[[FunctionInfo, Any], Any],
                 state_dir: Path) -> None:
        self.schedules = schedules
        self.invoke = invoke
        self._state_path = Path(state_dir) / STATE_FILE
        self._state_lock = threading.Lock()
        last_ticks = load_state(self._state_path, "timers start without their last tick")
        self._state: dict[str, float] = {name: float(tick) for name, tick in last_ticks.items()}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "TimerScheduler":
        """Start one scheduler thread per timer."""
        for schedule in self.schedules:
            thread = threading.Thread(target=self._run, args=(schedule,), daemon=True,
                                      name=f"durapipe-timer-{schedule.function.name}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop firing (an invocation under way finishes first, up to 30 s)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def _run(self, schedule: TimerSchedule) -> None:
        name, expression = schedule.function.name, schedule.expression
        now = time.time()
        last = self._state.get(name)
        if schedule.run_on_startup:
            self._fire(schedule, now, past_due=False)
        elif last is not None and next_tick(expression, last) <= now - LATE_S:
            # Down across one or more ticks: run once for them, as Azure's schedule monitor does.
            self._fire(schedule, now, past_due=True)
        cursor = max(now, last or 0.0)
        while True:
            tick = next_tick(expression, cursor)
            if not self._sleep_until(tick):
                return
            now = time.time()
            past_due = now - tick > LATE_S
            if next_tick(expression, tick) <= now:
                # Busy past later ticks too: fire once, for the latest one, and skip the rest.
                tick = latest_tick(expression, datetime.fromtimestamp(now, tz=timezone.utc)).timestamp()
                past_due = True
            self._fire(schedule, tick, past_due)
            cursor = tick

    def _sleep_until(self, when: float) -> bool:
        while True:
            remaining = when - time.time()
            if remaining <= 0:
                return not self._stop.is_set()
            if self._stop.wait(remaining):
                return False

    def _fire(self, schedule: TimerSchedule, tick: float, past_due: bool) -> None:
        name = schedule.function.name
        try:
            last = self._state.get(name)
            request = TimerRequest(
                past_due=past_due,
                schedule_status={"Last": _iso(last) if last else None,
                                 "Next": _iso(next_tick(schedule.expression, tick)),
                                 "LastUpdated": _iso(time.time())},
                schedule={"AdjustForDST": True})
            # Recorded before the call: a crash mid-invocation must not make a restart fire this tick again.
            with self._state_lock:
                self._state[name] = tick
                save_state(self._state_path, self._state)
            self.invoke(schedule.function, request)
        except Exception:  # the scheduler thread must outlive a failing function
            log.exception("timer function %s failed on the tick of %s", name, _iso(tick))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()

