"""The function app: composes the blueprints and nothing else."""
import azure.durable_functions as df
import azure.functions as func

from activities.blueprint import bp as activities_bp
from function_app.blob_trigger import bp as blob_bp
from function_app.http_api import bp as http_bp
from function_app.timer_trigger import bp as timer_bp
from orchestrators.pipeline_run import bp as orchestrators_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (orchestrators_bp, activities_bp, http_bp, blob_bp, timer_bp):
    app.register_functions(blueprint)
