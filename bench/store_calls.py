"""Run the `durapipe` command, counting the store operations and HTTP requests it makes.

    .venv/bin/python bench/store_calls.py COUNTS.json run pipeline.py:workload_b --store URL --json

Each Store method call of the command's own process is tallied by name (and listed, with its
key, under "calls"), and for a blob store each HTTP request the Azure SDK sends; the counts are
written to COUNTS.json at exit. Worker
processes are not counted (a no-change run starts none).
"""
from __future__ import annotations

import atexit
import json
import sys
from collections import Counter

from durapipe.store.blob import BlobStore
from durapipe.store.local import LocalStore

OPERATIONS = ("get", "get_with_etag", "put", "exists", "list", "etags", "stat", "delete", "read_chunks",
              "upload_stream")
counts: Counter[str] = Counter()
calls: list[str] = []


def _count(cls: type, name: str) -> None:
    original = getattr(cls, name)

    def counted(self, *args, **kwargs):
        counts[f"store.{name}"] += 1
        first = args[0] if args else ""
        calls.append(f"{name} {first if isinstance(first, str) else f'{len(first)} keys'}")
        return original(self, *args, **kwargs)

    setattr(cls, name, counted)


def _count_http() -> None:
    from azure.core.pipeline.transport import RequestsTransport
    original = RequestsTransport.send

    def send(self, request, **kwargs):
        counts[f"http.{request.method}"] += 1
        return original(self, request, **kwargs)

    RequestsTransport.send = send


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    for cls in (LocalStore, BlobStore):
        for name in OPERATIONS:
            if name in cls.__dict__:
                _count(cls, name)
    _count_http()
    atexit.register(lambda: open(out, "w").write(json.dumps({**dict(sorted(counts.items())), "calls": calls})))
    from durapipe.cli.main import entry
    sys.argv = ["durapipe", *args]
    entry()


if __name__ == "__main__":
    main()
