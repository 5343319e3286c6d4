"""The wire contracts: one schema version, one vocabulary of step states."""
import json

import pytest

from durapipe.model import contracts
from durapipe.core.errors import DurapipeError


def test_a_payload_arrives_as_json_text_or_values_alike():
    task = {"schema": contracts.SCHEMA_VERSION, "run_id": "r1"}
    assert contracts.decode(json.dumps(task)) == contracts.decode(task) == task


def test_a_payload_from_a_newer_schema_is_refused_with_one_sentence():
    with pytest.raises(DurapipeError, match=r"wire schema 2, newer than this durapipe's 1; upgrade durapipe"):
        contracts.decode({"schema": contracts.SCHEMA_VERSION + 1})


def test_an_old_historys_done_reads_as_ran():
    assert contracts.step_state("done") == contracts.RAN


def test_every_state_of_the_vocabulary_reads_as_itself():
    assert [contracts.step_state(s) for s in contracts.STEP_STATES] == list(contracts.STEP_STATES)

