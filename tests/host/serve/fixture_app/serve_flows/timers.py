"""A timer trigger whose schedule is an app setting, recording each tick."""
import json
import os
import time
import uuid
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%SERVE_FIXTURE_SCHEDULE%", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    folder = Path(os.environ["SERVE_FIXTURE_RECORD"]) / "ticks"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.json"
    # Written under a dot name, then renamed, so a reader never sees a half-written record.
    (folder / f".{name}.tmp").write_text(json.dumps({"at": time.time(), "past_due": timer.past_due}))
    os.replace(folder / f".{name}.tmp", folder / name)
