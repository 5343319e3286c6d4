"""--json output: indented on a terminal, one line when a program reads it (as `gh` does)."""
from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from durapipe.store.records import write_run_record
from durapipe.store.local import LocalStore

DURAPIPE = Path(sys.executable).parent / "durapipe"


def _store_with_a_run(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    write_run_record(LocalStore(store), {"schema": 1, "run_id": "p-20260101-000000-abcdef", "pipeline": "p",
                                         "status": "completed", "started": "2026-01-01T00:00:00+00:00",
                                         "finished": "2026-01-01T00:00:01+00:00", "steps": {}, "spec": {}})
    return store


def test_json_read_by_a_program_is_one_line(tmp_path):
    store = _store_with_a_run(tmp_path)
    done = subprocess.run([str(DURAPIPE), "runs", "list", "--json", "--store", str(store)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert [r["run_id"] for r in json.loads(done.stdout)] == ["p-20260101-000000-abcdef"]


def test_json_shown_on_a_terminal_is_indented(tmp_path):
    store = _store_with_a_run(tmp_path)
    main, terminal = pty.openpty()
    proc = subprocess.Popen([str(DURAPIPE), "runs", "list", "--json", "--store", str(store)],
                            stdout=terminal, stderr=subprocess.DEVNULL, cwd=tmp_path)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the command has exited
            break
        if not chunk:
            break
        shown += chunk
    assert proc.wait(timeout=60) == 0
    os.close(main)
    text = shown.decode().replace("\r\n", "\n")
    assert text.startswith("[\n  {\n    \"run_id\": ")
    assert json.loads(text)[0]["run_id"] == "p-20260101-000000-abcdef"
