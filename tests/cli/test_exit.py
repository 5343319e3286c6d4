"""How the `durapipe` command ends: exit codes, flushed output, exit handlers, and a reader that left."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DURAPIPE = str(Path(sys.executable).with_name("durapipe"))

PIPELINE = '''
from durapipe import step, pipeline, Output

@step
def hello(out: Output):
    out.write_text("hello")

@pipeline
def greet():
    return {"out": hello().out}
'''


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'exit-test'\n")
    (tmp_path / "flows.py").write_text(textwrap.dedent(PIPELINE))
    return tmp_path


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("DURAPIPE_STORE", "DURAPIPE_DEBUG")}


def test_a_run_prints_its_whole_json_document_and_exits_0(tmp_path):
    done = subprocess.run([DURAPIPE, "run", "flows.py:greet", "--json"], cwd=_project(tmp_path), env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"]["hello"]["status"] == "ran"


def test_the_json_of_a_run_is_the_summary_of_its_record_and_of_runs_show(tmp_path):
    # A completed run prints the summary recording returned; it must be the record's, as `runs show` reads it.
    project = _project(tmp_path)
    for expected in ("ran", "reused"):
        done = subprocess.run([DURAPIPE, "run", "flows.py:greet", "--json"], cwd=project, env=_env(),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        printed = json.loads(done.stdout)
        assert printed["steps"]["hello"]["status"] == expected
        shown = subprocess.run([DURAPIPE, "runs", "show", printed["run_id"], "--json"], cwd=project, env=_env(),
                               capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr
        record = json.loads(shown.stdout)
        assert {k: record.get(k) for k in ("run_id", "pipeline", "status", "started", "finished", "outputs")} == \
            {k: printed[k] for k in ("run_id", "pipeline", "status", "started", "finished", "outputs")}
        assert record["steps"]["hello"]["fingerprint"] == printed["steps"]["hello"]["fingerprint"]


def test_output_to_a_reader_that_left_ends_quietly_with_exit_1(tmp_path):
    project = _project(tmp_path)
    subprocess.run([DURAPIPE, "run", "flows.py:greet", "--json"], cwd=project, env=_env(), check=True,
                   capture_output=True, timeout=120)
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write the command makes now fails with EPIPE
    try:
        done = subprocess.run([DURAPIPE, "runs", "list"], cwd=project, env=_env(), stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert done.returncode == 1
    assert done.stderr == ""


LEAVE = '''
import atexit, sys, threading, time
from pathlib import Path
from durapipe.cli.main import leave

out = Path(sys.argv[1])
atexit.register(lambda: (out / "atexit").write_text("ran"))

def late():
    time.sleep(0.3)
    (out / "thread").write_text("finished")

if sys.argv[2] == "thread":
    threading.Thread(target=late).start()
print("printed before leaving", end="")
leave(int(sys.argv[3]))
'''


def test_leaving_flushes_output_runs_exit_handlers_and_keeps_the_exit_code(tmp_path):
    done = subprocess.run([sys.executable, "-c", LEAVE, str(tmp_path), "none", "3"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 3
    assert done.stdout == "printed before leaving"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_leaving_waits_for_a_thread_that_is_still_working(tmp_path):
    done = subprocess.run([sys.executable, "-c", LEAVE, str(tmp_path), "thread", "0"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "thread").read_text() == "finished"


def _holders_of_pipe(inode: int) -> list[str]:
    """The command lines of the processes that have the pipe with this inode open (Linux /proc)."""
    holders = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
            if f"pipe:[{inode}]" in links:
                holders.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return holders


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc to see who holds the pipe")
def test_when_a_run_exits_no_worker_process_holds_its_output(tmp_path):
    project = _project(tmp_path)
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen([DURAPIPE, "run", "flows.py:greet", "--json"], cwd=project, env=_env(),
                                stdout=write_end, stderr=write_end)
        os.close(write_end)
        write_end = None
        assert proc.wait(timeout=120) == 0  # its output (a few KiB) fits in the pipe meanwhile
        # Right away: a worker or fork server holding the pipe would outlive the command by ~0.1 s.
        holders = _holders_of_pipe(os.fstat(read_end).st_ino)
        os.set_blocking(read_end, False)
        output = os.read(read_end, 1 << 20)
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)
    assert not [h for h in holders if "forkserver" in h], holders
    assert b'"status": "completed"' in output
    assert (project / ".durapipe" / "host" / "workers.log").exists()


FORK_SERVER = '''
import multiprocessing.forkserver, sys
import durapipe.host.fork_server
print("to the log")
print("also to the log", file=sys.stderr)
'''


def test_the_fork_server_writes_its_output_to_the_worker_log(tmp_path):
    log = tmp_path / "host" / "workers.log"
    done = subprocess.run([sys.executable, "-c", FORK_SERVER], capture_output=True, text=True, timeout=60,
                          env={**_env(), "DURAPIPE_WORKER_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert log.read_text().splitlines() == ["to the log", "also to the log"]


def test_outside_the_fork_server_the_module_changes_nothing(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(FORK_SERVER)
    log = tmp_path / "workers.log"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env={**_env(), "DURAPIPE_WORKER_LOG": str(log)})
    assert (done.returncode, done.stdout, done.stderr) == (0, "to the log\n", "also to the log\n")
    assert not log.exists()
