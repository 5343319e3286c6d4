"""The store contract, run over every backend (local folder, Azurite) through the `store` fixture."""
from __future__ import annotations

import multiprocessing
import os
import threading
from datetime import datetime
from pathlib import Path

import pytest

from durapipe.core.errors import InvalidNameError, NotFoundError
from durapipe.store.base import Store
from durapipe.store.url import open_store

BAD_KEYS = ["", "/abs", "a/../b", "..", "a//b", "a/", ".hidden", "a/./b", "a\\b", "a\x00b", "a\nb", "a" * 1025]


def test_get_returns_what_put_stored(store: Store) -> None:
    assert store.put("runs/r1.json", b'{"ok": true}') is True
    assert store.get("runs/r1.json") == b'{"ok": true}'


def test_put_overwrites_by_default(store: Store) -> None:
    store.put("k", b"one")
    assert store.put("k", b"two") is True
    assert store.get("k") == b"two"


def test_get_of_a_missing_key_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.get("steps/missing.json")


def test_exists_tells_stored_from_missing(store: Store) -> None:
    store.put("a/b", b"x")
    assert store.exists("a/b") is True
    assert store.exists("a/c") is False
    assert store.exists("a") is False


def test_list_returns_keys_under_a_prefix_sorted(store: Store) -> None:
    for key in ["steps/b.json", "steps/a.json", "steps/sub/c.json", "stepsx/d", "runs/r.json"]:
        store.put(key, b"x")
    assert list(store.list("steps/")) == ["steps/a.json", "steps/b.json", "steps/sub/c.json"]
    assert list(store.list("steps")) == ["steps/a.json", "steps/b.json", "steps/sub/c.json", "stepsx/d"]
    assert list(store.list("steps/a")) == ["steps/a.json"]
    assert list(store.list()) == sorted(["steps/b.json", "steps/a.json", "steps/sub/c.json", "stepsx/d", "runs/r.json"])


def test_list_of_an_unknown_prefix_is_empty(store: Store) -> None:
    assert list(store.list("nothing/")) == []


def test_stat_reports_size_etag_and_modified_time(store: Store) -> None:
    store.put("k", b"12345")
    first = store.stat("k")
    assert first.size == 5 and first.etag and isinstance(first.modified, datetime)
    store.put("k", b"123456")
    assert store.stat("k").etag != first.etag


def test_stat_of_a_missing_key_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.stat("missing")


def test_delete_removes_a_key_and_succeeds_when_already_gone(store: Store) -> None:
    store.put("k", b"x")
    store.delete("k")
    assert store.exists("k") is False
    store.delete("k")


def test_put_if_absent_writes_only_the_first_time(store: Store) -> None:
    assert store.put("steps/f.json", b"first", if_absent=True) is True
    assert store.put("steps/f.json", b"second", if_absent=True) is False
    assert store.get("steps/f.json") == b"first"


def test_upload_file_if_absent_writes_only_the_first_time(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"first")
    assert store.upload_file("k", source, if_absent=True) is True
    source.write_bytes(b"second")
    assert store.upload_file("k", source, if_absent=True) is False
    assert store.get("k") == b"first"


def test_concurrent_if_absent_commits_from_threads_have_exactly_one_winner(store: Store) -> None:
    writers = 8
    barrier = threading.Barrier(writers)
    results: list[tuple[int, bool]] = []

    def commit(index: int) -> None:
        barrier.wait()
        results.append((index, store.put("steps/race.json", f"writer {index}".encode(), if_absent=True)))

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [index for index, won in results if won]
    assert len(results) == writers and len(winners) == 1
    assert store.get("steps/race.json") == f"writer {winners[0]}".encode()
    assert list(store.list("steps/")) == ["steps/race.json"]


def _commit_in_process(url: str, index: int, barrier, results) -> None:
    store = open_store(url)
    barrier.wait()
    results.put((index, store.put("steps/race.json", f"writer {index}".encode(), if_absent=True)))


def test_concurrent_if_absent_commits_from_processes_have_exactly_one_winner(store: Store) -> None:
    writers = 4
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier, results = context.Barrier(writers), context.Queue()
    processes = [context.Process(target=_commit_in_process, args=(store.url, i, barrier, results)) for i in range(writers)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    winners = [index for index, won in outcomes if won]
    assert len(winners) == 1
    assert store.get("steps/race.json") == f"writer {winners[0]}".encode()
    assert list(store.list("steps/")) == ["steps/race.json"]


def test_a_multi_megabyte_file_round_trips_streamed(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(9 * 1024 * 1024 + 123))  # more than two 4 MiB chunks
    assert store.upload_file("artifacts/big", source) is True
    assert store.stat("artifacts/big").size == source.stat().st_size
    dest = tmp_path / "out" / "big.bin"
    store.download_file("artifacts/big", dest)
    assert dest.read_bytes() == source.read_bytes()
    assert os.listdir(dest.parent) == ["big.bin"]  # no temp file left beside it


def test_download_of_a_missing_key_raises_not_found_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        store.download_file("missing", tmp_path / "out" / "f")
    assert not (tmp_path / "out" / "f").exists()


def test_read_chunks_streams_the_stored_bytes(store: Store) -> None:
    store.put("k", b"abc" * 1000)
    assert b"".join(store.read_chunks("k")) == b"abc" * 1000


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_invalid_keys_are_rejected_before_any_io(store: Store, key: str) -> None:
    with pytest.raises(InvalidNameError):
        store.put(key, b"x")
    with pytest.raises(InvalidNameError):
        store.get(key)
    with pytest.raises(InvalidNameError):
        store.exists(key)


def test_url_reopens_the_same_store(store: Store) -> None:
    store.put("k", b"x")
    assert open_store(store.url).get("k") == b"x"


def test_put_if_match_replaces_while_the_etag_holds(store: Store) -> None:
    store.put("k", b"one")
    _, etag = store.get_with_etag("k")
    assert store.put("k", b"two", if_match=etag) is True
    assert store.get("k") == b"two"


def test_put_if_match_refuses_a_stale_etag_and_writes_nothing(store: Store) -> None:
    store.put("k", b"one")
    _, etag = store.get_with_etag("k")
    store.put("k", b"two")
    assert store.put("k", b"three", if_match=etag) is False
    assert store.get("k") == b"two"


def test_put_if_match_of_a_missing_key_writes_nothing(store: Store) -> None:
    store.put("k", b"one")
    _, etag = store.get_with_etag("k")
    store.delete("k")
    assert store.put("k", b"two", if_match=etag) is False
    assert store.exists("k") is False


def test_concurrent_conditional_increments_lose_no_update(store: Store) -> None:
    store.put("counter", b"0")

    def increment() -> None:
        while True:
            data, etag = store.get_with_etag("counter")
            if store.put("counter", str(int(data) + 1).encode(), if_match=etag):
                return

    threads = [threading.Thread(target=increment) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("counter") == b"20"
    assert list(store.list("")) == ["counter"]


def test_get_with_etag_returns_the_bytes_and_the_etag_of_that_version(store: Store) -> None:
    store.put("steps/e.json", b"one")
    data, etag = store.get_with_etag("steps/e.json")
    assert data == b"one" and etag == store.stat("steps/e.json").etag
    store.put("steps/e.json", b"two")
    assert store.get_with_etag("steps/e.json")[1] != etag


def test_get_with_etag_of_a_missing_key_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.get_with_etag("steps/missing.json")


def test_etags_names_the_current_version_of_each_stored_key_and_leaves_out_absent_ones(store: Store) -> None:
    store.put("steps/a.json", b"a")
    store.put("steps/b.json", b"b")
    store.put("steps/unasked.json", b"c")
    etags = store.etags(["steps/a.json", "steps/b.json", "steps/gone.json"])
    assert etags == {"steps/a.json": store.stat("steps/a.json").etag, "steps/b.json": store.stat("steps/b.json").etag}
    store.put("steps/a.json", b"a2")
    assert store.etags(["steps/a.json"])["steps/a.json"] != etags["steps/a.json"]


def test_etags_of_no_keys_is_empty(store: Store) -> None:
    assert store.etags([]) == {}


def test_etags_rejects_an_invalid_key(store: Store) -> None:
    with pytest.raises(InvalidNameError):
        store.etags(["steps/ok.json", "a/../b"])


def test_etags_of_keys_in_several_folders_names_each(store: Store) -> None:
    store.put("steps/a.json", b"a")
    store.put("artifacts/" + "1" * 64, b"x")
    store.put("runs/r.json", b"r")
    etags = store.etags(["steps/a.json", "artifacts/" + "1" * 64, "artifacts/" + "2" * 64])
    assert set(etags) == {"steps/a.json", "artifacts/" + "1" * 64}


def test_delete_if_match_removes_the_key_while_the_etag_holds(store: Store) -> None:
    store.put("leases/k.json", b"one")
    _, etag = store.get_with_etag("leases/k.json")
    assert store.delete_if_match("leases/k.json", etag) is True
    assert store.exists("leases/k.json") is False
    assert list(store.list("")) == []


def test_delete_if_match_of_a_changed_key_removes_nothing(store: Store) -> None:
    store.put("leases/k.json", b"one")
    _, etag = store.get_with_etag("leases/k.json")
    store.put("leases/k.json", b"two")
    assert store.delete_if_match("leases/k.json", etag) is False
    assert store.get("leases/k.json") == b"two"


def test_delete_if_match_of_a_missing_key_is_false(store: Store) -> None:
    store.put("leases/k.json", b"one")
    _, etag = store.get_with_etag("leases/k.json")
    store.delete("leases/k.json")
    assert store.delete_if_match("leases/k.json", etag) is False
    assert store.delete_if_match("leases/never.json", etag) is False


def test_put_with_etag_returns_the_etag_of_the_version_it_wrote(store: Store) -> None:
    etag = store.put_with_etag("leases/k.json", b"one", if_absent=True)
    assert etag is not None and etag == store.get_with_etag("leases/k.json")[1]
    replaced = store.put_with_etag("leases/k.json", b"two", if_match=etag)
    assert replaced is not None and replaced != etag and replaced == store.stat("leases/k.json").etag
    assert store.put_with_etag("leases/k.json", b"three") == store.get_with_etag("leases/k.json")[1]


def test_put_with_etag_whose_condition_fails_writes_nothing_and_returns_none(store: Store) -> None:
    etag = store.put_with_etag("leases/k.json", b"one")
    assert store.put_with_etag("leases/k.json", b"two", if_absent=True) is None
    store.put("leases/k.json", b"three")
    assert store.put_with_etag("leases/k.json", b"four", if_match=etag) is None
    assert store.get("leases/k.json") == b"three"
    assert store.put_with_etag("leases/gone.json", b"five", if_match=etag) is None
    assert store.exists("leases/gone.json") is False
