"""Entry file of the local host's test function app (PYTHON_SCRIPT_FILE_NAME=main.py)."""
import azure.durable_functions as df
import azure.functions as func

from fixture_flows.activities import bp as activities
from fixture_flows.client import bp as client
from fixture_flows.orchestrators import bp as orchestrators

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(activities)
app.register_functions(orchestrators)
app.register_functions(client)
