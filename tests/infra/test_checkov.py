"""checkov over infra/ (its Bicep framework): no check fails, and every skipped check says why."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # runs checkov over infra/

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# A reason is a sentence, not a word: "false positive" alone does not say why.
MIN_REASON_WORDS = 8


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `bash scripts/setup.sh`.")
    # --skip-download: no call to the vendor's platform for guidelines (CI reaches only the registries).
    done = subprocess.run(
        [str(CHECKOV), "--directory", str(ROOT / "infra"), "--framework", "bicep", "--skip-download",
         "--output", "json", "--compact"],
        capture_output=True, text=True, timeout=240)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return report["results"]


def _where(check: dict[str, Any]) -> str:
    return f"{check['check_id']} ({check['check_name']}) on {check['resource']} in infra{check['file_path']}"


def test_checkov_fails_no_check(results: dict[str, Any]) -> None:
    failed = [_where(check) for check in results["failed_checks"]]
    assert not failed, "checkov failed: " + "; ".join(failed)


def test_checkov_parses_every_template(results: dict[str, Any]) -> None:
    assert results["parsing_errors"] == []
    seen = {check["file_path"].lstrip("/") for kind in ("passed_checks", "skipped_checks")
            for check in results[kind]}
    # Templates that declare resources checkov has checks for (the others hold only existing references or topics).
    for template in ("modules/storage.bicep", "modules/function-app.bicep"):
        assert template in seen


def test_every_skipped_check_gives_its_reason(results: dict[str, Any]) -> None:
    for check in results["skipped_checks"]:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.split()) >= MIN_REASON_WORDS, f"{_where(check)} is skipped without a reason: {reason!r}"
