"""One file signature for every cache, and when it vouches for a file's content."""
from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from durapipe.core import file_signature
from durapipe.core.file_signature import RACY_WINDOW_S, FileSignature, settled


def test_a_signature_names_type_size_times_and_inode(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    info = os.stat(tmp_path / "f")
    assert FileSignature.of(tmp_path / "f") == (stat.S_IFREG, 3, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def test_a_missing_path_has_no_signature(tmp_path: Path) -> None:
    assert FileSignature.of(tmp_path / "missing") is None


def test_a_symlink_is_signed_itself_or_through_its_target(tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"abc")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    assert FileSignature.of(tmp_path / "link", follow_symlinks=False).kind == stat.S_IFLNK
    assert FileSignature.of(tmp_path / "link") == FileSignature.of(tmp_path / "target")


def test_rewriting_a_file_with_the_same_size_and_mtime_changes_its_signature(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    before = FileSignature.of(path)
    time.sleep(0.05)  # past the filesystem's timestamp granularity
    path.write_bytes(b"DATA")
    os.utime(path, ns=(before.mtime_ns, before.mtime_ns))
    assert FileSignature.of(path) != before


def test_a_signature_reads_back_from_json_equal(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    signature = FileSignature.of(tmp_path / "f")
    assert FileSignature.from_json(json.loads(json.dumps(signature.to_json()))) == signature
    assert FileSignature.from_json(None) is None


def test_the_json_of_a_signature_is_the_list_caches_always_stored(tmp_path: Path) -> None:
    # Entries written before the type existed held (kind, size, mtime_ns, ctime_ns, inode) lists.
    signature = FileSignature(stat.S_IFREG, 3, 10, 20, 30)
    assert json.dumps(signature) == json.dumps(signature.to_json()) == "[32768, 3, 10, 20, 30]"


@pytest.mark.parametrize("value", [[1, 2, 3], [1, 2, 3, 4, 5, 6], ["1", 2, 3, 4, 5], [1, 2.0, 3, 4, 5],
                                   [True, 2, 3, 4, 5], {"size": 3}, "x", 7])
def test_anything_else_is_not_read_as_a_signature(value: object) -> None:
    with pytest.raises(ValueError):
        FileSignature.from_json(value)


def _signature(mtime_s: float, ctime_s: float) -> FileSignature:
    return FileSignature(stat.S_IFREG, 1, int(mtime_s * 1e9), int(ctime_s * 1e9), 1)


def test_a_file_unchanged_for_the_racy_window_is_settled() -> None:
    assert settled(_signature(1000.0, 1000.0), 1000.0 + RACY_WINDOW_S)


def test_a_file_changed_within_the_racy_window_is_not_settled() -> None:
    assert not settled(_signature(1000.0, 1000.0), 1000.0 + RACY_WINDOW_S - 0.01)


def test_a_recent_ctime_unsettles_a_file_whose_mtime_was_set_back() -> None:
    assert not settled(_signature(0.0, 1000.0), 1000.5)


def test_a_missing_path_is_settled() -> None:
    assert settled(None, 0.0)


def test_the_racy_window_is_read_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_signature, "RACY_WINDOW_S", 0.0)
    assert settled(_signature(1000.0, 1000.0), 1000.0)
