"""The web view: page shells and static assets at the app's root; their data comes from the JSON API.

Served at `/`, `/runs/{run_id}`, `/pipelines` and `/static/{name}`: host.json sets
routePrefix "" (the only way Azure Functions serves a route at the root) and the API's own
routes carry `api/`. Every route needs the function key like the API; a page opened with
`?code=KEY` keeps the key in an HttpOnly, SameSite=Strict cookie for the browser's later requests.
"""
import azure.durable_functions as df
import azure.functions as func

from durapipe.core.errors import DurapipeError
from durapipe.core.names import check_id
from durapipe.serving.web.pages import PAGE_HEADERS, asset, key_cookie, page_html

bp = df.Blueprint()
AUTH = func.AuthLevel.FUNCTION


def _page(req: func.HttpRequest, page: str, **data: str) -> func.HttpResponse:
    headers = dict(PAGE_HEADERS)
    code = req.params.get("code")
    if code:  # the host has checked it already: a wrong key never reaches this function
        headers["Set-Cookie"] = key_cookie(code, secure=req.url.startswith("https://"))
    return func.HttpResponse(page_html(page, **data), status_code=200, mimetype="text/html", charset="utf-8",
                             headers=headers)


@bp.function_name("web_runs")
@bp.route(route="/", methods=["GET"], auth_level=AUTH)
def runs_page(req: func.HttpRequest) -> func.HttpResponse:
    """GET /: the runs, newest first, filtered by pipeline and status."""
    return _page(req, "runs")


@bp.function_name("web_run")
@bp.route(route="runs/{run_id}", methods=["GET"], auth_level=AUTH)
def run_page(req: func.HttpRequest) -> func.HttpResponse:
    """GET /runs/{run_id}: one run's DAG, steps, parameters, inputs, outputs and logs, updating live."""
    run_id = req.route_params.get("run_id", "")
    try:
        check_id(run_id)
    except DurapipeError as exc:
        return func.HttpResponse(str(exc), status_code=400, mimetype="text/plain", charset="utf-8")
    return _page(req, "run", run_id=run_id)


@bp.function_name("web_pipelines")
@bp.route(route="pipelines", methods=["GET"], auth_level=AUTH)
def pipelines_page(req: func.HttpRequest) -> func.HttpResponse:
    """GET /pipelines: the served pipelines with their parameters and a form that starts a run."""
    return _page(req, "pipelines")


@bp.function_name("web_static")
@bp.route(route="static/{name}", methods=["GET"], auth_level=AUTH)
def static_asset(req: func.HttpRequest) -> func.HttpResponse:
    """GET /static/{name}: the pages' stylesheet, script and icon."""
    found = asset(req.route_params.get("name", ""))
    if found is None:
        return func.HttpResponse("There is no such asset.", status_code=404, mimetype="text/plain", charset="utf-8")
    data, content_type = found
    return func.HttpResponse(data, status_code=200, headers={"Content-Type": content_type,
                                                             "X-Content-Type-Options": "nosniff",
                                                             "Cache-Control": "no-cache"})
