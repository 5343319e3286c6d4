"""infra/main.bicep: the security and wiring properties the deployment depends on.

No Bicep compiler installs from the registries this project reaches (it ships as a NuGet
package or a downloaded binary), so the template is checked as text and, where the
`pycep-parser` package is installed, as a parsed syntax tree (which also proves it parses).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "main.bicep"
TEXT = TEMPLATE.read_text(encoding="utf-8")
ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
}


def code_lines() -> list[str]:
    """The template's lines without `//` comments (a comment may name what the code must not do)."""
    return [_strip_comment(line) for line in TEXT.splitlines()]


def _strip_comment(line: str) -> str:
    # A `//` inside a '...' string (a URL) is not a comment; Bicep escapes a quote as \'.
    quoted = False
    for i, char in enumerate(line):
        if char == "'" and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and line.startswith("//", i):
            return line[:i].rstrip()
    return line


CODE = "\n".join(code_lines())


def test_no_account_key_or_connection_string_in_the_template() -> None:
    for secret in ("AccountKey=", "DefaultEndpointsProtocol", "SharedAccessSignature", "listAccountSas"):
        assert secret not in CODE
    assert "listKeys(" not in CODE.replace("listKeys('${app.id}/host/default'", "")


@pytest.mark.parametrize(
    "setting",
    [
        "allowBlobPublicAccess: false",
        "allowSharedKeyAccess: false",
        "minimumTlsVersion: 'TLS1_2'",
        "supportsHttpsTrafficOnly: true",
        "httpsOnly: true",
        "minTlsVersion: '1.2'",
    ],
)
def test_transport_and_access_are_locked_down(setting: str) -> None:
    assert setting in CODE


def test_function_app_is_python_3_11_on_flex_consumption_with_its_own_identity() -> None:
    assert re.search(r"tier: 'FlexConsumption'\s+name: 'FC1'", CODE)
    assert re.search(r"name: 'python'\s+version: '3.11'", CODE)
    assert "identity: { type: 'SystemAssigned' }" in CODE
    assert "authentication: { type: 'SystemAssignedIdentity' }" in CODE


def test_app_settings_use_identity_connections_and_the_main_py_entry_file() -> None:
    assert "{ name: 'AzureWebJobsStorage__accountName', value: storage.name }" in CODE
    assert "{ name: 'PYTHON_SCRIPT_FILE_NAME', value: 'main.py' }" in CODE
    assert "{ name: 'DURAPIPE_STORE', value: '${storage.properties.primaryEndpoints.blob}${storeContainerName}' }" in CODE
    assert "param retrainSchedule string = '0 0 3 * * *'" in CODE
    # Not allowed on Flex Consumption (the runtime is in functionAppConfig), and no plain connection.
    for forbidden in ("'FUNCTIONS_WORKER_RUNTIME'", "'FUNCTIONS_EXTENSION_VERSION'", "name: 'AzureWebJobsStorage'"):
        assert forbidden not in CODE


def test_the_identity_gets_blob_queue_and_table_roles() -> None:
    for role_id in ROLE_IDS.values():
        assert f"'{role_id}'" in CODE
    assert "principalId: app.identity.principalId" in CODE


def test_blob_created_events_reach_the_blob_trigger_webhook() -> None:
    assert "topicType: 'Microsoft.Storage.StorageAccounts'" in CODE
    assert "'Microsoft.Storage.BlobCreated'" in CODE
    assert "param blobTriggerFunctionName string = 'score_arrived_blob'" in CODE
    assert (
        "/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}"
        "&code=${listKeys('${app.id}/host/default', '2024-04-01').systemKeys.blobs_extension}"
    ) in CODE


def test_outputs_carry_no_key() -> None:
    outputs = [line for line in code_lines() if line.startswith("output ")]
    assert outputs
    for line in outputs:
        assert not re.search(r"listKeys|key|ConnectionString|secret", line, re.IGNORECASE), line


# ------------------------------------------------------------ parsed (pycep-parser)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    import pycep
    return pycep.BicepParser().parse(text=TEXT)


def config(template: dict[str, Any], resource: str) -> dict[str, Any]:
    """A resource's body; a conditional resource's body is one level down."""
    body = template["resources"][resource]["config"]
    return body["config"] if "condition" in body else body


def test_template_parses_into_the_expected_resources(template: dict[str, Any]) -> None:
    types = {r["type"] for r in template["resources"].values()}
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


def test_parsed_storage_account_is_locked_down(template: dict[str, Any]) -> None:
    properties = config(template, "storage")["properties"]
    assert properties["allowBlobPublicAccess"] is False
    assert properties["allowSharedKeyAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True


def test_parsed_containers_are_private(template: dict[str, Any]) -> None:
    containers = [
        config(template, name)
        for name, resource in template["resources"].items()
        if resource["type"].endswith("/containers")
    ]
    assert len(containers) >= 2
    assert all(c["properties"]["publicAccess"] == "None" for c in containers)


def test_parsed_app_settings(template: dict[str, Any]) -> None:
    site = config(template, "app")
    settings = {s["name"]: s["value"] for s in site["properties"]["siteConfig"]["appSettings"]}
    assert settings["PYTHON_SCRIPT_FILE_NAME"] == "main.py"
    assert "AzureWebJobsStorage__accountName" in settings and "AzureWebJobsStorage" not in settings
    assert {"DURAPIPE_STORE", "DURAPIPE_RETRAIN_SCHEDULE", "DURAPIPE_INCOMING_PREFIX"} <= set(settings)
    assert site["properties"]["httpsOnly"] is True
    assert settings["AzureWebJobsDisableHomepage"] == "true"  # the web view is served at '/'
    assert site["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}


def test_parsed_event_subscription_filters_blob_created(template: dict[str, Any]) -> None:
    subscription = config(template, "incomingBlobCreated")["properties"]
    assert subscription["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert subscription["destination"]["endpointType"] == "WebHook"


def test_parsed_outputs_carry_no_key(template: dict[str, Any]) -> None:
    text = json.dumps(template["outputs"]).lower()
    assert "listkeys" not in text and "connectionstring" not in text
