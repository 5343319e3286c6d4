"""The function app, built from the project's definitions: it composes blueprints and nothing else."""
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from activities.blueprint import activities_blueprint
from durapipe.serving.service import served_catalog
from function_app.blob_trigger import blob_blueprint
from function_app.http_api import http_blueprint
from function_app.timer_trigger import schedule_blueprint
from function_app.web import bp as web_bp
from orchestrators.blob_arrival import bp as arrival_bp
from orchestrators.pipeline_run import bp as orchestrators_bp

# The project is DURAPIPE_PROJECT_ROOT, else the folder of the entry file (the app's script root). Every
# process that hosts the app (the Functions worker, the local host and its workers) builds it here, and
# with it the policy its activities check code roots against (`catalog.code_policy`).
catalog = served_catalog(Path(__file__).resolve().parent.parent)
definitions = catalog.definitions

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (orchestrators_bp, arrival_bp, activities_blueprint(catalog), http_blueprint(catalog), web_bp,
                  *(schedule_blueprint(s, catalog) for s in definitions.schedules.values()),
                  *(blob_blueprint(t, catalog) for t in definitions.blob_triggers.values())):
    app.register_functions(blueprint)
