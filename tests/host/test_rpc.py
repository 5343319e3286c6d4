"""The durable client's rpc endpoints, over real HTTP and through the SDK's DurableOrchestrationClient.

They are served the one way `durapipe serve` serves them: the serve HTTP server, behind the
durable extension's system key, with RpcRouter mounted at RPC_PREFIX, and client functions invoked by FunctionInvoker.
"""
import json
import urllib.error
import urllib.request

import azure.functions as func
import pytest

from durapipe.host.http_server import KEY_HEADER, HttpServer
from durapipe.host.invoker import FunctionInvoker, keyed_client_binding_json
from durapipe.host.rpc import RPC_PREFIX, RpcRouter

KEY = "rpc-test-key"  # the system key: the rpc endpoints take no other
FUNCTION_KEY = "rpc-test-function-key"


def call(method, url, body=None):
    request = urllib.request.Request(url, data=body, method=method, headers={KEY_HEADER: KEY})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture(scope="module")
def server(host):
    http = HttpServer([], "api", FUNCTION_KEY, lambda fn, value: None, RpcRouter(host).handle, port=0,
                      system_key=KEY).start()
    yield http
    http.close()


@pytest.fixture(scope="module")
def rpc(server):
    return server.base_url + RPC_PREFIX


def test_start_then_get_status(host, rpc):
    status, body = call("POST", f"{rpc}orchestrators/fan_out_in/rpc-fan", b'{"n": 4}')
    assert (status, body) == (202, {"id": "rpc-fan"})
    host.wait("rpc-fan", timeout=30)
    status, body = call("GET", f"{rpc}instances/rpc-fan")
    assert status == 200 and body["runtimeStatus"] == "Completed" and body["output"] == 12
    assert body["input"] == {"n": 4}


def test_get_status_leaves_the_input_out_when_asked(host, rpc):
    call("POST", f"{rpc}orchestrators/fan_out_in/rpc-noinput", b'{"n": 2}')
    host.wait("rpc-noinput", timeout=30)
    status, body = call("GET", f"{rpc}instances/rpc-noinput?showInput=false")
    assert status == 200 and body["input"] is None and body["output"] == 0 + 2  # doubled 0 and 1, summed


def test_unknown_orchestrator_is_a_400_with_a_message(rpc):
    status, body = call("POST", f"{rpc}orchestrators/nope")
    assert status == 400 and "nope" in body["ExceptionMessage"]


def test_raise_event_reaches_the_instance(host, rpc):
    call("POST", f"{rpc}orchestrators/approval/rpc-approval")
    status, _ = call("POST", f"{rpc}instances/rpc-approval/raiseEvent/approval", b'"ok"')
    assert status == 202
    assert host.wait("rpc-approval", timeout=10)["output"] == {"approved": "ok"}


def test_terminate_then_purge(host, rpc):
    call("POST", f"{rpc}orchestrators/approval/rpc-term")
    assert call("POST", f"{rpc}instances/rpc-term/terminate?reason=stop")[0] == 202
    assert host.wait("rpc-term", timeout=10)["runtimeStatus"] == "Terminated"
    assert call("DELETE", f"{rpc}instances/rpc-term") == (200, {"instancesDeleted": 1})
    assert call("GET", f"{rpc}instances/rpc-term")[0] == 404


def test_list_filters_by_runtime_status(host, rpc):
    call("POST", f"{rpc}orchestrators/approval/rpc-listed")
    status, body = call("GET", f"{rpc}instances/?runtimeStatus=Running,Pending&instanceIdPrefix=rpc-listed")
    assert status == 200 and [s["instanceId"] for s in body] == ["rpc-listed"]
    host.terminate("rpc-listed", "cleanup")


def test_http_starter_uses_the_sdk_client_against_the_host(host, loaded_app, server):
    request = func.HttpRequest("POST", f"{server.base_url}/api/start/fan_out_in",
                               route_params={"name": "fan_out_in"}, body=b'{"n": 5}')
    response = FunctionInvoker(host, server.base_url, KEY).invoke(loaded_app.functions["http_start"], request)
    assert response.status_code == 202
    links = json.loads(response.get_body())
    assert host.wait(links["id"], timeout=30)["output"] == 20
    status, body = call("GET", links["statusQueryGetUri"])
    assert status == 200 and body["output"] == 20


def test_sdk_client_raises_events_and_reads_status(host, server):
    from azure.durable_functions import DurableOrchestrationClient

    async def scenario():
        client = DurableOrchestrationClient(keyed_client_binding_json(server.base_url, KEY))
        instance_id = await client.start_new("approval", "sdk-approval")
        await client.raise_event(instance_id, "approval", {"by": "me"})
        host.wait(instance_id, timeout=10)
        return (await client.get_status(instance_id)).output

    assert host._async_runner().run(scenario()) == {"approved": {"by": "me"}}
