"""Scheduled retraining: each tick of DURAPIPE_RETRAIN_SCHEDULE starts one retraining run."""
import logging
import os

import azure.durable_functions as df
import azure.functions as func

from activities import names
from durapipe.schedule import current_tick
from durapipe.service import app_store, retrain_request, tick_instance_id
from function_app.catalog import RETRAIN

bp = df.Blueprint()
log = logging.getLogger("durapipe.timer")


@bp.function_name("scheduled_retrain")
@bp.timer_trigger(arg_name="timer", schedule="%DURAPIPE_RETRAIN_SCHEDULE%", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def scheduled_retrain(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start retraining on the latest data; the run id is the tick, so one tick starts one run."""
    tick = current_tick(os.environ["DURAPIPE_RETRAIN_SCHEDULE"], timer.schedule_status)
    run_id = tick_instance_id(RETRAIN.name, tick)
    existing = await client.get_status(run_id)
    if existing is not None and getattr(existing, "runtime_status", None):
        log.info("tick %s already started run %s", tick.isoformat(), run_id)
        return
    request = retrain_request(RETRAIN, app_store(), run_id, tick,
                              training_prefix=os.environ.get("DURAPIPE_TRAINING_PREFIX", "training/"))
    await client.start_new(names.PIPELINE_RUN, run_id, request)
    log.info("tick %s started run %s (past due: %s)", tick.isoformat(), run_id, timer.past_due)
