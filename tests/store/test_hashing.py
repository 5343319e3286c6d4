"""Streamed hashing of files and folders, and the hash cache that avoids hashing twice."""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
import tracemalloc
from pathlib import Path

import pytest

import durapipe.store.hashing as hashing
from durapipe.core import file_signature
from durapipe.core.canonical import canonical_json
from durapipe.core.errors import UsageError
from durapipe.store.hashing import HashCache, hash_file, hash_path


def _age(path: Path, seconds: float = 60) -> None:
    """Set a file's mtime back (its ctime, which a program cannot set, stays now)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as settled as soon as it is written (the racy window has its own tests)."""
    monkeypatch.setattr(file_signature, "RACY_WINDOW_S", 0.0)


def test_hash_file_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    (tmp_path / "f").write_bytes(data)
    assert hash_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_hash_file_of_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    assert hash_file(tmp_path / "f") == hashlib.sha256(b"").hexdigest()


def test_hash_file_reads_in_bounded_memory(tmp_path: Path) -> None:
    with open(tmp_path / "big", "wb") as out:
        out.truncate(64 * 1024 * 1024)
    tracemalloc.start()
    try:
        hash_file(tmp_path / "big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


def test_a_file_ref_has_hash_kind_and_size(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    hashed = hash_path(tmp_path / "f")
    assert hashed.ref == {"hash": hashlib.sha256(b"abc").hexdigest(), "kind": "file", "size": 3}
    assert hashed.manifest is None


def test_a_folder_hashes_as_its_canonical_manifest(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a").write_bytes(b"A")
    (tmp_path / "d" / "sub" / "b").write_bytes(b"BB")
    hashed = hash_path(tmp_path / "d")
    manifest = {"files": {
        "a": {"hash": hashlib.sha256(b"A").hexdigest(), "size": 1},
        "sub/b": {"hash": hashlib.sha256(b"BB").hexdigest(), "size": 2},
    }}
    assert hashed.manifest == manifest
    assert hashed.ref == {"hash": hashlib.sha256(canonical_json(manifest).encode()).hexdigest(), "kind": "dir", "size": 3}


def test_a_folder_hash_ignores_where_the_folder_is(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x").write_bytes(b"same")
    assert hash_path(tmp_path / "one").hash == hash_path(tmp_path / "two").hash


def test_renaming_a_file_in_a_folder_changes_its_hash(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_bytes(b"same")
    before = hash_path(tmp_path / "d").hash
    (tmp_path / "d" / "x").rename(tmp_path / "d" / "y")
    assert hash_path(tmp_path / "d").hash != before


def test_hashing_a_missing_path_raises_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        hash_path(tmp_path / "missing")


def test_a_symlink_loop_raises_usage_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    with pytest.raises(UsageError, match="symlink loop"):
        hash_path(tmp_path / "d")


def _count_hash_file(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = hashing.hash_file
    monkeypatch.setattr(hashing, "hash_file", lambda path: calls.append(Path(path)) or real(path))
    return calls


def test_an_unchanged_file_is_hashed_once_with_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       settled_at_once: None) -> None:
    (tmp_path / "f").write_bytes(b"data")
    calls = _count_hash_file(monkeypatch)
    cache = HashCache(tmp_path / "cache.sqlite")
    first = hash_path(tmp_path / "f", cache)
    assert hash_path(tmp_path / "f", HashCache(tmp_path / "cache.sqlite")) == first
    assert len(calls) == 1


def test_a_changed_file_is_hashed_again(tmp_path: Path, settled_at_once: None) -> None:
    (tmp_path / "f").write_bytes(b"data")
    _age(tmp_path / "f", 120)
    cache = HashCache(tmp_path / "cache.sqlite")
    hash_path(tmp_path / "f", cache)
    time.sleep(0.05)  # past the filesystem's timestamp granularity
    (tmp_path / "f").write_bytes(b"DATA")  # same size
    _age(tmp_path / "f", 120)  # and the same mtime: the inode change time still differs
    assert hash_path(tmp_path / "f", cache).hash == hashlib.sha256(b"DATA").hexdigest()


def test_a_just_written_file_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f").write_bytes(b"data")
    calls = _count_hash_file(monkeypatch)
    cache = HashCache(tmp_path / "cache.sqlite")
    hash_path(tmp_path / "f", cache)
    hash_path(tmp_path / "f", cache)
    assert len(calls) == 2


def test_a_file_just_written_with_its_mtime_set_back_is_not_cached(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # `cp -p`, `tar x`, rsync: an old mtime on a file written this instant; its ctime tells.
    (tmp_path / "f").write_bytes(b"data")
    _age(tmp_path / "f")
    calls = _count_hash_file(monkeypatch)
    cache = HashCache(tmp_path / "cache.sqlite")
    hash_path(tmp_path / "f", cache)
    hash_path(tmp_path / "f", cache)
    assert len(calls) == 2


def _hash_with_cache(args: tuple[str, str]) -> str:
    file_signature.RACY_WINDOW_S = 0.0  # in the pool's own process: every file counts as settled
    path, cache_path = args
    return hash_path(path, HashCache(cache_path)).hash


def test_the_cache_is_safe_with_concurrent_processes(tmp_path: Path) -> None:
    files = []
    for i in range(20):
        (tmp_path / f"f{i}").write_bytes(f"content {i}".encode())
        files.append(str(tmp_path / f"f{i}"))
    cache_path = str(tmp_path / "cache.sqlite")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_hash_with_cache, [(f, cache_path) for f in files * 3])
    assert results == [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files * 3]
    cache = HashCache(cache_path)
    assert all(cache.lookup(f, os.stat(f)) for f in files)


def test_the_default_cache_lives_in_the_project_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert HashCache().path == tmp_path / ".durapipe" / "cache" / "hashes.sqlite"


def _open_fresh_caches_in_step(args: tuple[str, float, int]) -> list[str]:
    folder, start, count = args
    errors = []
    for k in range(count):
        time.sleep(max(0.0, start + k * 0.05 - time.time()))  # every process opens cache k together
        try:
            HashCache(Path(folder) / f"cache-{k}.sqlite").lookup(__file__, os.stat(__file__))
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(repr(exc))
    return errors


def test_processes_opening_a_new_cache_at_the_same_moment_all_get_it(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        start = time.time() + 1.5  # after every worker has started
        errors = pool.map(_open_fresh_caches_in_step, [(str(tmp_path), start, 30)] * 4)
    assert [e for errs in errors for e in errs] == []
