"""`blob_arrival` driven by hand: a run the trigger could not prepare is prepared again at the next try."""
from __future__ import annotations

from datetime import datetime, timezone

from durapipe.model import contracts
from orchestrators.blob_arrival import blob_arrival

ARRIVAL = {"schema": 1, "arrival_id": "blob-abc", "key": "early/b.txt", "etag": "e1", "blob_trigger": "early",
           "tries": 3, "retry_interval": 5.0, "request": None, "error": "Model clf has no champion yet."}
REQUEST = {"pipeline": "scoring", "trigger": {"kind": "blob"}}


class Context:
    """Just enough of a DurableOrchestrationContext: each call returns what was asked, as a tuple."""

    current_utc_datetime = datetime(2026, 12, 1, tzinfo=timezone.utc)

    def __init__(self, arrival):
        self.arrival = arrival

    def get_input(self):
        return self.arrival

    def call_activity(self, name, payload):
        return ("activity", name, payload)

    def call_sub_orchestrator(self, name, payload, instance_id):
        return ("sub", name, payload, instance_id)

    def create_timer(self, when):
        return ("timer", when)


def _drive(arrival, answers):
    """Run the generator, answering each yielded task from `answers` (by kind); return (tasks, result)."""
    generator = blob_arrival._function.get_user_function().orchestrator_function(Context(arrival))
    tasks, value = [], None
    try:
        while True:
            task = generator.send(value)
            tasks.append(task)
            value = answers[task[0]](task) if task[0] in answers else None
    except StopIteration as stop:
        return tasks, stop.value


def test_a_run_prepared_at_the_second_try_starts_as_that_try():
    tasks, result = _drive(ARRIVAL, {"activity": lambda task: {"request": REQUEST}, "sub": lambda task: {"ok": 1}})
    assert [t[0] for t in tasks] == ["timer", "activity", "sub"]
    assert tasks[1][1] == contracts.PREPARE_ARRIVAL and tasks[1][2]["attempt"] == 2
    assert tasks[2][3] == "blob-abc-2" and tasks[2][2]["trigger"] == {"kind": "blob", "attempt": 2}
    assert result["status"] == "completed" and result["attempts"] == 2


def test_a_run_never_prepared_is_poisoned_after_tries_with_every_reason():
    def activity(task):
        return {"error": f"still no champion ({task[2]['attempt']})"} if task[1] == contracts.PREPARE_ARRIVAL else {}

    tasks, result = _drive(ARRIVAL, {"activity": activity})
    assert [t[0] for t in tasks] == ["timer", "activity", "timer", "activity", "activity"]
    poison = tasks[-1][2]
    assert tasks[-1][1] == contracts.RECORD_POISON and poison["tries"] == 3
    assert [a["error"] for a in poison["attempts"]] == ["Model clf has no champion yet.", "still no champion (2)",
                                                        "still no champion (3)"]
    assert result == {"status": "poisoned", "attempts": 3, "reason": "still no champion (3)"}


def test_an_arrival_whose_blob_changed_before_a_later_try_prepared_it_starts_nothing_and_records_no_poison():
    gone = "The blob 'early/b.txt' no longer holds the version (ETag e1) that arrived, so that version starts nothing."
    tasks, result = _drive(ARRIVAL, {"activity": lambda task: {"superseded": gone}})
    assert [t[0] for t in tasks] == ["timer", "activity"]
    assert tasks[1][1] == contracts.PREPARE_ARRIVAL
    assert result == {"status": "superseded", "attempts": 1, "reason": gone}


def _drive_failing_runs(arrival, reason):
    """As `_drive`, with every run (sub-orchestration) failing with `reason` as the Durable SDK reports it."""
    generator = blob_arrival._function.get_user_function().orchestrator_function(Context(arrival))
    tasks, task = [], generator.send(None)
    try:
        while True:
            tasks.append(task)
            failed = Exception(f"{reason} \n Traceback ...")
            task = generator.throw(failed) if task[0] == "sub" else generator.send(None)
    except StopIteration as stop:
        return tasks, stop.value


def test_a_run_that_failed_for_good_while_planning_is_poisoned_at_once_with_its_sentence():
    from durapipe.model.statuses import final_failure, orchestrator_failed

    sentence = "Step upper is mapped over 'part', which must be a folder, but it is a single file."
    reason = orchestrator_failed(contracts.PIPELINE_RUN, final_failure(sentence))
    tasks, result = _drive_failing_runs({**ARRIVAL, "request": REQUEST}, reason)
    assert [t[0] for t in tasks] == ["sub", "activity"]
    assert tasks[-1][2]["reason"] == sentence
    assert result == {"status": "poisoned", "attempts": 1, "reason": sentence}


def test_a_run_that_failed_otherwise_is_tried_tries_times_and_its_reason_is_one_sentence():
    from durapipe.model.statuses import orchestrator_failed

    reason = orchestrator_failed(contracts.PIPELINE_RUN, "step boom failed: ValueError: boom")
    tasks, result = _drive_failing_runs({**ARRIVAL, "request": REQUEST}, reason)
    assert [t[0] for t in tasks] == ["sub", "timer", "sub", "timer", "sub", "activity"]
    assert result == {"status": "poisoned", "attempts": 3, "reason": "step boom failed: ValueError: boom"}
