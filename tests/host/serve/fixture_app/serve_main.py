"""Entry file of the `durapipe serve` test app (PYTHON_SCRIPT_FILE_NAME=serve_main.py).

Named apart from the other fixture apps' `main.py`: one test process imports several apps.
"""
import azure.durable_functions as df
import azure.functions as func

from serve_flows.blobs import bp as blobs
from serve_flows.flows import bp as flows
from serve_flows.routes import bp as routes
from serve_flows.timers import bp as timers

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(flows)
app.register_functions(routes)
app.register_functions(blobs)
app.register_functions(timers)
