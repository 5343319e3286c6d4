"""JSON cache entries: found only under the key they were written for, written whole, the newest kept."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from durapipe.cache.entries import EntryFolder

KEY = "a" * 64


@pytest.fixture
def entries(tmp_path: Path) -> EntryFolder:
    return EntryFolder(tmp_path / "entries", keep=3)


def test_an_entry_reads_back_under_its_key(entries: EntryFolder) -> None:
    entries.write(KEY, {"value": [1, 2]})
    assert entries.read(KEY) == {"value": [1, 2], "key": KEY}


def test_a_key_never_written_is_a_miss(entries: EntryFolder) -> None:
    assert entries.read(KEY) is None


def test_an_entry_for_another_key_with_the_same_file_name_is_a_miss(entries: EntryFolder) -> None:
    # Another format version, say: its key shares the first characters, not the whole.
    other = KEY[:40] + "b" * 24
    entries.write(other, {"value": 1})
    assert entries.path(other) == entries.path(KEY)
    assert entries.read(KEY) is None


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '"text"', '{"value": 1}', "\udcff"])
def test_a_corrupt_or_foreign_file_is_a_miss(entries: EntryFolder, text: str) -> None:
    entries.path(KEY).parent.mkdir(parents=True)
    entries.path(KEY).write_bytes(text.encode("utf-8", "surrogateescape"))
    assert entries.read(KEY) is None


def test_the_entry_holds_the_whole_key_whatever_the_caller_put_there(entries: EntryFolder) -> None:
    entries.write(KEY, {"key": "forged"})
    assert json.loads(entries.path(KEY).read_text())["key"] == KEY


def test_the_file_name_is_as_long_as_asked(tmp_path: Path) -> None:
    assert EntryFolder(tmp_path, keep=1, name_length=32).path(KEY).name == KEY[:32] + ".json"


def test_only_the_newest_entries_are_kept(entries: EntryFolder) -> None:
    keys = [str(n) * 64 for n in range(5)]
    for age, key in enumerate(keys):
        entries.write(key, {})
        os.utime(entries.path(key), ns=(10**18 + age * 10**9, 10**18 + age * 10**9))
    entries.write(keys[-1], {})
    assert [entries.read(key) is not None for key in keys] == [False, False, True, True, True]


def test_writing_leaves_no_temporary_file(entries: EntryFolder) -> None:
    entries.write(KEY, {})
    assert sorted(p.name for p in entries.folder.iterdir()) == [KEY[:40] + ".json"]


def test_a_folder_that_cannot_be_written_only_costs_speed(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the folder would be")
    entries = EntryFolder(tmp_path / "blocked" / "entries", keep=3)
    entries.write(KEY, {})
    assert entries.read(KEY) is None
