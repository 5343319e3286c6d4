"""What the SDK receives for each history event: inputs it reads, never the inputs of work it scheduled."""
import json

from durapipe.host import history as h
from durapipe.host.instance import event_text

NOW = "2026-11-29T10:00:00+00:00"


def test_scheduled_work_reaches_the_sdk_without_its_input_but_stays_whole_in_the_journal():
    scheduled = h.task_scheduled(NOW, 3, "run_step", '{"big": "input"}')
    child = h.sub_orchestration_created(NOW, 4, "pipeline_segment", "run.segment-0", '{"steps": []}')
    for event, name in [(scheduled, "run_step"), (child, "pipeline_segment")]:
        sent = json.loads(event_text(event, True))
        assert "Input" not in sent and sent["Name"] == name and sent["IsPlayed"] is True
        assert event["Input"]  # the journaled event keeps it


def test_inputs_the_sdk_reads_are_sent():
    started = h.execution_started(NOW, "pipeline_run", '{"run_id": "r"}', "r", None)
    raised = h.event_raised(NOW, "approval", '"yes"')
    assert json.loads(event_text(started, False))["Input"] == '{"run_id": "r"}'
    assert json.loads(event_text(raised, False))["Input"] == '"yes"'
