"""infra/: the security and wiring properties the deployment depends on.

No Bicep compiler installs from the registries this project reaches (it ships as a NuGet
package or a downloaded binary), so the templates are checked as text and as syntax trees
parsed by `pycep-parser` (which also proves they parse). checkov checks them too
(tests/infra/test_checkov.py).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
MODULES = INFRA / "modules"
TEMPLATES = sorted(INFRA.rglob("*.bicep"))
ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
}


def _strip_comment(line: str) -> str:
    # A `//` inside a '...' string (a URL) is not a comment; Bicep escapes a quote as \'.
    quoted = False
    for i, char in enumerate(line):
        if char == "'" and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and line.startswith("//", i):
            return line[:i].rstrip()
    return line


def code_lines(path: Path) -> list[str]:
    """A template's lines without `//` comments (a comment may name what the code must not do)."""
    return [_strip_comment(line) for line in path.read_text(encoding="utf-8").splitlines()]


def code(path: Path) -> str:
    """A template's text without comments."""
    return "\n".join(code_lines(path))


ALL_CODE = "\n".join(code(path) for path in TEMPLATES)


def test_main_uses_every_module() -> None:
    used = set(re.findall(r"^module \w+ '(modules/[\w-]+\.bicep)'", code(MAIN), re.MULTILINE))
    assert used == {f"modules/{path.name}" for path in MODULES.glob("*.bicep")}


def test_no_account_key_or_connection_string_in_any_template() -> None:
    for secret in ("AccountKey=", "DefaultEndpointsProtocol", "SharedAccessSignature", "listAccountSas"):
        assert secret not in ALL_CODE
    # The one key read is the blobs_extension key, and only into the Event Grid webhook URL.
    assert "listKeys(" not in ALL_CODE.replace("listKeys('${app.id}/host/default'", "")


@pytest.mark.parametrize(
    ("module", "setting"),
    [
        ("storage", "allowBlobPublicAccess: false"),
        ("storage", "allowSharedKeyAccess: false"),
        ("storage", "minimumTlsVersion: 'TLS1_2'"),
        ("storage", "supportsHttpsTrafficOnly: true"),
        ("function-app", "httpsOnly: true"),
        ("function-app", "minTlsVersion: '1.2'"),
    ],
)
def test_transport_and_access_are_locked_down(module: str, setting: str) -> None:
    assert setting in code(MODULES / f"{module}.bicep")


def test_function_app_is_python_3_11_on_flex_consumption_with_its_own_identity() -> None:
    text = code(MODULES / "function-app.bicep")
    assert re.search(r"tier: 'FlexConsumption'\s+name: 'FC1'", text)
    assert re.search(r"name: 'python'\s+version: '3.11'", text)
    assert "identity: { type: 'SystemAssigned' }" in text
    assert "authentication: { type: 'SystemAssignedIdentity' }" in text


def test_app_settings_use_identity_connections_and_the_main_py_entry_file() -> None:
    text = code(MODULES / "function-app.bicep")
    assert "{ name: 'AzureWebJobsStorage__accountName', value: storage.name }" in text
    assert "{ name: 'PYTHON_SCRIPT_FILE_NAME', value: 'main.py' }" in text
    assert "{ name: 'DURAPIPE_STORE', value: '${storage.properties.primaryEndpoints.blob}${storeContainerName}' }" in text
    # Not allowed on Flex Consumption (the runtime is in functionAppConfig), and no plain connection.
    for forbidden in ("'FUNCTIONS_WORKER_RUNTIME'", "'FUNCTIONS_EXTENSION_VERSION'", "name: 'AzureWebJobsStorage'"):
        assert forbidden not in ALL_CODE


def test_the_example_projects_schedule_setting_comes_from_the_parameters_file() -> None:
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["appSettings"]["value"]["DURAPIPE_RETRAIN_SCHEDULE"] == "0 0 3 * * *"
    assert parameters["environmentName"]["value"] == "${AZURE_ENV_NAME}"


def test_the_identity_gets_blob_queue_and_table_roles() -> None:
    text = code(MODULES / "roles.bicep")
    for role_id in ROLE_IDS.values():
        assert f"'{role_id}'" in text
    assert "principalId: principalId" in text
    assert "principalId: functionApp.outputs.principalId" in code(MAIN)


def test_blob_created_events_reach_each_blob_triggers_webhook() -> None:
    assert "topicType: 'Microsoft.Storage.StorageAccounts'" in code(MODULES / "events.bicep")
    text = code(MODULES / "blob-subscriptions.bicep")
    assert "'Microsoft.Storage.BlobCreated'" in text
    assert "for trigger in blobTriggers:" in text
    assert (
        "/runtime/webhooks/blobs?functionName=Host.Functions.${trigger.function}"
        "&code=${listKeys('${app.id}/host/default', '2024-04-01').systemKeys.blobs_extension}"
    ) in text


def test_azd_finds_the_function_app_by_its_service_tag() -> None:
    assert "tags: union(tags, { 'azd-service-name': 'app' })" in code(MAIN)


def test_outputs_carry_no_key() -> None:
    outputs = [line for path in TEMPLATES for line in code_lines(path) if line.startswith("output ")]
    assert outputs
    for line in outputs:
        assert not re.search(r"listKeys|key|ConnectionString|secret", line, re.IGNORECASE), line


# ------------------------------------------------------------ parsed (pycep-parser)


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict[str, Any]]:
    import pycep

    return {path.stem: pycep.BicepParser().parse(text=path.read_text(encoding="utf-8")) for path in TEMPLATES}


def config(template: dict[str, Any], resource: str) -> dict[str, Any]:
    """A resource's body; a conditional or looped resource's body is one level down."""
    body = template["resources"][resource]["config"]
    return body["config"] if "condition" in body or "loop_type" in body else body


def test_templates_parse_into_the_expected_resources(parsed: dict[str, dict[str, Any]]) -> None:
    types = {r["type"] for t in parsed.values() for r in t.get("resources", {}).values() if not r["existing"]}
    assert {
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.Web/serverfarms",
        "Microsoft.Web/sites",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.Insights/components",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.EventGrid/systemTopics",
        "Microsoft.EventGrid/systemTopics/eventSubscriptions",
    } <= types


def test_parsed_storage_account_is_locked_down(parsed: dict[str, dict[str, Any]]) -> None:
    properties = config(parsed["storage"], "storage")["properties"]
    assert properties["allowBlobPublicAccess"] is False
    assert properties["allowSharedKeyAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True


def test_parsed_containers_are_private(parsed: dict[str, dict[str, Any]]) -> None:
    template = parsed["storage"]
    containers = [
        config(template, name)
        for name, resource in template["resources"].items()
        if resource["type"].endswith("/containers")
    ]
    assert len(containers) >= 2
    assert all(c["properties"]["publicAccess"] == "None" for c in containers)


def test_parsed_app_settings(parsed: dict[str, dict[str, Any]]) -> None:
    template = parsed["function-app"]
    settings = {s["name"]: s["value"] for s in template["variables"]["identitySettings"]["value"]}
    assert settings["PYTHON_SCRIPT_FILE_NAME"] == "main.py"
    assert "AzureWebJobsStorage__accountName" in settings and "AzureWebJobsStorage" not in settings
    assert "DURAPIPE_STORE" in settings
    site = config(template, "app")
    assert site["properties"]["siteConfig"]["appSettings"]["function"]["parameters"] == {
        "arg_1": "identitySettings", "arg_2": "projectSettings"}
    assert site["properties"]["httpsOnly"] is True
    assert settings["AzureWebJobsDisableHomepage"] == "true"  # the web view is served at '/'
    assert site["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}


def test_parsed_event_subscriptions_filter_blob_created(parsed: dict[str, dict[str, Any]]) -> None:
    subscription = config(parsed["blob-subscriptions"], "subscriptions")["properties"]
    assert subscription["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert subscription["destination"]["endpointType"] == "WebHook"


def test_parsed_blob_subscriptions_wait_for_blob_triggers(parsed: dict[str, dict[str, Any]]) -> None:
    module = parsed["main"]["modules"]["blobSubscriptions"]
    assert "condition" in json.dumps(module["config"])
    assert "blobTriggers" in json.dumps(module["config"]["condition"])


def test_parsed_outputs_carry_no_key(parsed: dict[str, dict[str, Any]]) -> None:
    for template in parsed.values():
        text = json.dumps(template.get("outputs", {})).lower()
        assert "listkeys" not in text and "connectionstring" not in text
