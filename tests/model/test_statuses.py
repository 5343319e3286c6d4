"""The runtime statuses mirror the Durable SDK's; a failed orchestration's output is worded and read in one place."""
import subprocess
import sys

from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from durapipe.model.statuses import (ACTIVE, ALL, TERMINAL, RuntimeStatus, failure_reason,
                                     orchestrator_failed)


def test_the_statuses_are_the_sdks_names_and_values_exactly():
    assert {s.name: s.value for s in RuntimeStatus} == {s.name: s.value for s in OrchestrationRuntimeStatus}


def test_a_status_equals_its_plain_string():
    assert RuntimeStatus.Completed == "Completed" and "Canceled" in TERMINAL and f"{RuntimeStatus.Failed}" == "Failed"


def test_terminal_and_active_statuses_do_not_overlap():
    assert not TERMINAL & ACTIVE and TERMINAL | ACTIVE <= ALL


def test_terminal_statuses_are_the_four_endings():
    assert TERMINAL == {"Completed", "Failed", "Terminated", "Canceled"}


def test_the_failure_reason_is_read_back_from_the_failed_output():
    assert failure_reason(orchestrator_failed("pipeline_run", "The input 'raw' is wrong.")) == "The input 'raw' is wrong."


def test_a_reason_without_the_failed_prefix_is_kept_as_it_is():
    assert failure_reason("step a failed: boom") == "step a failed: boom"


def test_importing_the_statuses_does_not_import_the_sdk():
    code = "import sys, durapipe.model.statuses; print('azure.durable_functions' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_final_failure_reads_as_its_sentence_and_is_told_apart():
    from durapipe.model.statuses import failure_reason, final_failure, is_final_failure, orchestrator_failed

    text = orchestrator_failed("pipeline_run", final_failure("Step a is mapped over 'p', which must be a folder."))
    assert is_final_failure(text) and failure_reason(text) == "Step a is mapped over 'p', which must be a folder."
    assert not is_final_failure(orchestrator_failed("pipeline_run", "step a failed: boom"))
