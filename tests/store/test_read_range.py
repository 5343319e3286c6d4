"""Store.read_range over every store: a byte range streamed from where it starts, never the whole key held."""
from __future__ import annotations

import pytest

from durapipe.core.errors import NotFoundError
from durapipe.store.base import CHUNK_SIZE, Store

DATA = bytes(range(256)) * (CHUNK_SIZE // 256) + b"tail" * 5  # over one chunk: ranges cross its end


@pytest.mark.parametrize("start,length", [(0, 10), (CHUNK_SIZE - 3, 10), (5, len(DATA) - 5), (len(DATA) - 4, 100),
                                          (0, 0)])
def test_a_range_streams_exactly_its_bytes(store: Store, start: int, length: int) -> None:
    store.put("k", DATA)
    chunks = list(store.read_range("k", start, length))
    assert b"".join(chunks) == DATA[start:start + length]
    assert all(len(chunk) <= CHUNK_SIZE for chunk in chunks)


def test_a_range_past_the_end_is_empty(store: Store) -> None:
    store.put("k", b"abc")
    assert b"".join(store.read_range("k", 3, 10)) == b""


def test_a_range_of_a_missing_key_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        b"".join(store.read_range("missing", 0, 10))


def test_a_negative_range_is_refused(store: Store) -> None:
    store.put("k", b"abc")
    with pytest.raises(ValueError, match="negative"):
        store.read_range("k", -1, 2)
