"""Entry file of the web tests' app: durapipe's own function app, serving the small pipelines of web_flows.py.

The app's catalog is swapped for one of these pipelines before any request is served (the
handlers read it at call time), so the pages are tested on runs that take a second.
"""
from pathlib import Path

import function_app.http_api as http_api
from durapipe.service import Catalog, ServedPipeline
from function_app import app

HERE = Path(__file__).resolve().parent
http_api.CATALOG = Catalog([ServedPipeline("web_flows:shapes", HERE), ServedPipeline("web_flows:gated", HERE)])

__all__ = ["app"]
