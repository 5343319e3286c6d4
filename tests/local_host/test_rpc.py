"""The durable client's rpc endpoints, over real HTTP and through the SDK's DurableOrchestrationClient."""
import json
import urllib.error
import urllib.request

import azure.functions as func
import pytest

from durapipe.local.rpc import RPC_PREFIX


def call(method, url, body=None):
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture(scope="module")
def rpc(host):
    return host.serve_rpc() + RPC_PREFIX.lstrip("/")


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


def test_http_starter_uses_the_sdk_client_against_the_host(host, loaded_app):
    request = func.HttpRequest("POST", "http://localhost:7071/api/start/fan_out_in",
                               route_params={"name": "fan_out_in"}, body=b'{"n": 5}')
    response = host.call_client_function(loaded_app.functions["http_start"], req=request)
    assert response.status_code == 202
    links = json.loads(response.get_body())
    assert host.wait(links["id"], timeout=30)["output"] == 20
    status, body = call("GET", links["statusQueryGetUri"].replace("localhost:7071", host.serve_rpc()[7:-1]))
    assert status == 200 and body["output"] == 20


def test_sdk_client_raises_events_and_reads_status(host, loaded_app):
    from azure.durable_functions import DurableOrchestrationClient
    from durapipe.local.rpc import client_binding_json

    async def scenario():
        client = DurableOrchestrationClient(client_binding_json(host.serve_rpc()))
        instance_id = await client.start_new("approval", "sdk-approval")
        await client.raise_event(instance_id, "approval", {"by": "me"})
        host.wait(instance_id, timeout=10)
        return (await client.get_status(instance_id)).output

    assert host._async_runner().run(scenario()) == {"approved": {"by": "me"}}
