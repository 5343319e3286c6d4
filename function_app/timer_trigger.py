"""One timer function per schedule of the definitions: each tick starts one run of its pipeline."""
import logging
import os

import azure.durable_functions as df
import azure.functions as func

from activities import names
from durapipe.core.errors import DurapipeError
from durapipe.dsl.definitions import Schedule
from durapipe.model.schedule import current_tick
from durapipe.serving.service import Catalog, app_store, schedule_request, tick_instance_id

log = logging.getLogger("durapipe.timer")


def schedule_blueprint(schedule: Schedule, catalog: Catalog) -> df.Blueprint:
    """The function `schedule_<name>`: on each tick of the schedule, start its run (the run id is the tick)."""
    bp = df.Blueprint()

    async def on_tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
        expression = os.environ[schedule.setting] if schedule.setting else schedule.cron
        tick = current_tick(expression, timer.schedule_status)
        run_id = tick_instance_id(schedule.name, tick)
        existing = await client.get_status(run_id)
        if existing is not None and getattr(existing, "runtime_status", None):
            log.info("tick %s already started run %s", tick.isoformat(), run_id)
            return
        try:
            request = schedule_request(catalog, schedule, app_store(), run_id, tick)
        except DurapipeError as exc:
            # The run cannot be prepared at this tick (a `model:NAME:champion` with no champion yet): say so
            # in one line; the next tick tries again.
            log.warning("tick %s of schedule %s starts no run: %s", tick.isoformat(), schedule.name, exc)
            return
        await client.start_new(names.PIPELINE_RUN, run_id, request)
        log.info("tick %s started run %s (past due: %s)", tick.isoformat(), run_id, timer.past_due)

    on_tick.__name__ = on_tick.__qualname__ = f"schedule_{schedule.name}"
    bp.function_name(f"schedule_{schedule.name}")(
        bp.timer_trigger(arg_name="timer", schedule=schedule.cron, run_on_startup=False)(
            bp.durable_client_input(client_name="client")(on_tick)))
    return bp
