"""A host killed with SIGKILL resumes from its journal without re-running completed activities."""
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from durapipe.host.local_host import LocalHost
from durapipe.host.journal import Journal

from tests.host.conftest import FIXTURE_APP

HOST_SCRIPT = """
import sys, time
from pathlib import Path
from durapipe.host.app_loader import load_app
from durapipe.host.local_host import LocalHost
if __name__ == "__main__":
    app = load_app(Path(sys.argv[1]), "main.py")
    with LocalHost(app, Path(sys.argv[2]), max_parallel=1) as host:
        host.start_new("sequential_lines", instance_id="seq",
                       input={"path": sys.argv[3], "n": 8, "sleep": 0.1})
        time.sleep(600)
"""


def completed_lines(journal: Journal) -> set[int]:
    events = journal.read_history("seq")
    scheduled = {e["EventId"]: json.loads(e["Input"])["i"] for e in events if e["EventType"] == 4}
    return {scheduled[e["TaskScheduledId"]] for e in events if e["EventType"] == 5}


def test_killed_host_resumes_and_runs_each_completed_activity_once(loaded_app, tmp_path: Path):
    state, lines = tmp_path / "state", tmp_path / "lines.txt"
    script = tmp_path / "run_host.py"
    script.write_text(HOST_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(FIXTURE_APP), str(state), str(lines)],
                            cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 60
        while (not lines.exists() or len(lines.read_text().split()) < 3) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = completed_lines(Journal(state))
    assert done_before and Journal(state).read_meta("seq")["runtimeStatus"] == "Running"

    with LocalHost(loaded_app, state, max_parallel=1) as host:
        assert host.resume_unfinished() == ["seq"]
        assert host.wait("seq", timeout=60)["output"] == 8
    counts = Counter(int(x) for x in lines.read_text().split())
    assert set(counts) == set(range(8))
    assert all(counts[i] == 1 for i in done_before)
