"""Store keys built from validated names."""
from __future__ import annotations

import pytest

from durapipe.core.errors import InvalidNameError
from durapipe.store.keys import check_delivery_key, lease_key, step_index_key


def test_the_step_index_of_a_pipeline_lives_under_index_steps():
    assert step_index_key("retrain") == "index/steps/retrain.json"


def test_the_step_index_key_refuses_a_name_that_could_leave_its_folder():
    with pytest.raises(InvalidNameError):
        step_index_key("../runs/x")


def test_no_output_may_be_delivered_over_a_step_index():
    with pytest.raises(InvalidNameError):
        check_delivery_key("index/steps/retrain.json")


def test_the_lease_of_a_fingerprint_lives_under_leases():
    assert lease_key("ab" * 32) == f"leases/{'ab' * 32}.json"


def test_the_lease_key_refuses_anything_but_a_fingerprint():
    with pytest.raises(InvalidNameError):
        lease_key("../steps/x")


def test_no_output_may_be_delivered_over_a_lease():
    with pytest.raises(InvalidNameError):
        check_delivery_key(f"leases/{'ab' * 32}.json")
