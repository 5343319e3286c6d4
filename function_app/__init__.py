"""The function app: composes the blueprints and nothing else."""
import azure.durable_functions as df
import azure.functions as func

from activities.blueprint import bp as activities_bp
from orchestrators.pipeline_run import bp as orchestrators_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(orchestrators_bp)
app.register_functions(activities_bp)
