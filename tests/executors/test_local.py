"""compute="local": each step in a child process of its own, supervised, with its own log and limits."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from durapipe.executors.local import LocalExecutor


def test_a_step_runs_in_a_process_of_its_own(project, executor):
    outcome = executor.run(project.call("pid_of"))
    assert outcome.ok, outcome
    assert int(project.output("pid_of")) != os.getpid()


def test_the_log_has_stdout_stderr_and_subprocess_output(project, executor):
    outcome = executor.run(project.call("writes", text="hello"))
    assert outcome.ok, outcome
    log = project.log("writes")
    assert "stdout line hello" in log and "stderr line" in log and "from a subprocess" in log
    assert project.output("writes") == "hello"


def test_an_exception_fails_the_step_with_its_message_and_the_traceback_in_the_log(project, executor):
    outcome = executor.run(project.call("raises"))
    assert not outcome.ok
    assert outcome.error == "ValueError: bad row 7"
    assert "about to fail" in project.log("raises") and "Traceback" in project.log("raises")


def test_os_exit_fails_the_step_naming_the_exit_code_and_keeps_the_log(project, executor):
    outcome = executor.run(project.call("exits"))
    assert not outcome.ok and outcome.exit_code == 3
    assert "exit code 3" in outcome.error
    assert "before os._exit" in project.log("exits")


def test_a_segfault_fails_the_step_naming_the_signal_and_keeps_the_log(project, executor):
    outcome = executor.run(project.call("segfaults"))
    assert not outcome.ok and outcome.signal == "SIGSEGV"
    assert "signal SIGSEGV" in outcome.error
    assert "before the segfault" in project.log("segfaults")
    assert "Fatal Python error: Segmentation fault" in project.log("segfaults")


def test_a_step_past_its_memory_limit_fails_with_a_sentence_saying_so(project, executor):
    outcome = executor.run(project.call("hogs", memory_mb=300))
    assert not outcome.ok
    assert outcome.error == "the step ran out of memory (its limit is 300 MB)"
    assert "allocating" in project.log("hogs")


def test_the_executor_keeps_running_steps_after_one_crashed(project, executor):
    executor.run(project.call("segfaults"))
    assert executor.run(project.call("writes", text="after")).ok
    assert project.output("writes") == "after"


def test_a_step_past_its_timeout_is_killed_with_its_children_at_once(project, executor, tmp_path):
    late = tmp_path / "late"
    assert executor.run(project.call("writes")).ok  # the template is warm: only the step is timed
    started = time.monotonic()
    outcome = executor.run(project.call("sleeps_then_writes", timeout=0.5, late=str(late)))
    elapsed = time.monotonic() - started
    assert outcome.timed_out and "timed out after 0.5 seconds" in outcome.error
    assert elapsed < 1.5
    time.sleep(2.5)
    assert not late.exists() and not Path(f"{late}.child").exists()


def test_a_daemon_of_a_step_killed_on_its_timeout_is_killed_too(project, executor, tmp_path):
    late = tmp_path / "daemon"
    outcome = executor.run(project.call("daemon_then_sleeps", timeout=0.5, late=str(late)))
    assert outcome.timed_out
    time.sleep(3)
    assert not late.exists()


def test_a_canceled_run_stops_its_running_step(project, executor, tmp_path):
    started_file = tmp_path / "started"
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    begun = time.monotonic()
    outcome = executor.run(project.call("waits", started=str(started_file)), canceled=cancel.is_set)
    assert outcome.canceled and not outcome.ok
    assert started_file.exists()
    assert time.monotonic() - begun < 5


def test_a_daemon_started_by_a_step_does_not_outlive_it(project, executor, tmp_path):
    late = tmp_path / "daemon"
    assert executor.run(project.call("leaves_a_daemon", late=str(late))).ok
    time.sleep(2.5)
    assert not late.exists()


def test_concurrent_steps_on_threads_of_one_process_keep_separate_logs(project, spawning_executor):
    names = [f"m{i}" for i in range(6)]
    calls = {}
    for name in names:
        call = project.call("chatty", marker=name, lines=100)
        folder = project.root / "out" / name
        folder.mkdir(parents=True, exist_ok=True)
        calls[name] = call.__class__(**{**call.to_json(), "log_path": str(folder / "step.log"),
                                        "outputs": {"out": str(folder / "out")}})
    outcomes = {}
    threads = [threading.Thread(target=lambda n=n: outcomes.__setitem__(n, spawning_executor.run(calls[n])))
               for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names:
        assert outcomes[name].ok, outcomes[name]
        lines = (project.root / "out" / name / "step.log").read_text().split()
        assert lines == [name] * 100


def test_a_step_whose_code_changed_after_fingerprinting_does_not_run(project, executor):
    call = project.call("writes", text="old")
    source = project.root / "exsteps.py"
    source.write_text(source.read_text().replace('out.write_text(text)', 'out.write_text(text + "!")'))
    outcome = executor.run(call)
    assert not outcome.ok and outcome.stale_code
    assert "changed after it was fingerprinted" in outcome.error
    assert not (project.root / "out" / "writes" / "out").exists()


def test_a_template_holding_older_code_is_replaced_before_the_step_runs(project, executor):
    assert executor.run(project.call("writes", text="v")).ok
    source = project.root / "exsteps.py"
    # Same length, so only the content tells the versions apart (a cached .pyc would not).
    source.write_text(source.read_text().replace('out.write_text(text)', 'out.write_text(text*2)'))
    outcome = executor.run(project.call("writes", text="v"))
    assert outcome.ok, outcome
    assert project.output("writes") == "vv"


def test_a_template_that_died_is_started_again(project):
    executor = LocalExecutor(start="fork")
    try:
        assert executor.run(project.call("writes")).ok
        for handle in list(executor._templates.values()):
            os.kill(handle.pid, 9)
            os.waitpid(handle.pid, 0)
        assert executor.run(project.call("writes", text="again")).ok
        assert project.output("writes") == "again"
    finally:
        executor.close()
