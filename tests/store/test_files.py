"""The file helpers the stores and the local caches share: atomic writes and keeping the newest files."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from durapipe.core.files import keep_newest, write_file_atomically


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "entry.json"
    target.write_text("old")

    def chunks():
        yield b"half"
        raise ValueError("check failed")

    with pytest.raises(ValueError):
        write_file_atomically(target, chunks())
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.json"]


def test_keep_newest_removes_the_oldest_by_mtime_and_leaves_other_files(tmp_path: Path) -> None:
    for n in range(5):
        entry = tmp_path / f"{n}.json"
        entry.write_text(str(n))
        # Names and mtimes in opposite orders: the mtime decides.
        os.utime(entry, ns=(10**18 - n * 10**9, 10**18 - n * 10**9))
    (tmp_path / "notes.txt").write_text("kept")
    keep_newest(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.json", "1.json", "notes.txt"]
