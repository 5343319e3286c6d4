"""host.json: the settings docs/deploy.md gives reasons for are the ones the app ships with."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def guide_value(setting: str) -> str:
    """The value column of the guide's host.json table row for `setting`."""
    match = re.search(rf"^\| `{re.escape(setting)}` \| `([^`]+)` \|", GUIDE, re.MULTILINE)
    assert match, f"docs/deploy.md gives no reason for {setting}"
    return match.group(1)


def test_the_function_timeout_is_the_one_the_guide_explains():
    assert HOST["functionTimeout"] == guide_value("functionTimeout")


def test_the_task_hub_and_concurrency_limits_are_the_ones_the_guide_explains():
    durable = HOST["extensions"]["durableTask"]
    assert durable["hubName"] == guide_value("extensions.durableTask.hubName")
    for limit in ("maxConcurrentActivityFunctions", "maxConcurrentOrchestratorFunctions"):
        assert str(durable[limit]) == guide_value(limit)


def test_the_extension_bundle_is_the_one_the_guide_explains():
    assert HOST["extensionBundle"]["version"] == guide_value("extensionBundle")


def test_the_route_prefix_is_the_one_the_guide_explains():
    assert json.dumps(HOST["extensions"]["http"]["routePrefix"]) == guide_value("extensions.http.routePrefix")
