"""What each `durapipe data` command does; main.py only parses arguments."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from durapipe.catalog import data_assets
from durapipe.cli.output import json_text, print_json
from durapipe.store.url import open_store

EXIT_OK = 0


def _line(entry: dict[str, Any]) -> str:
    tags = " ".join(f"{k}={v}" for k, v in (entry.get("tags") or {}).items())
    source = entry.get("source") or {}
    origin = source.get("path") or source.get("key") or source.get("run_id") or ""
    return (f"{entry['name']}:{entry['version']}  {entry['hash'][:12]}  {entry['size']} bytes  {entry['created']}"
            f"  {origin}" + (f"  {tags}" if tags else "") + (f"  {entry['description']}" if entry.get("description") else ""))


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("created_now", "content_hash")}


def register(name: str, source: str, description: str | None, tags: dict[str, str], store_url: str | None,
             as_json: bool) -> int:
    """`durapipe data register`: make the next version of NAME from a local path or store key."""
    entry = data_assets.register_source(open_store(store_url), name, source, description=description, tags=tags)
    if as_json:
        print_json({**_public(entry), "new": entry["created_now"]})
    elif entry["created_now"]:
        print(f"registered data {name} version {entry['version']} ({entry['hash'][:12]}, {entry['size']} bytes)")
    else:
        print(f"data {name} version {entry['version']} already holds this content ({entry['hash'][:12]})")
    return EXIT_OK


def list_all(store_url: str | None, as_json: bool) -> int:
    """`durapipe data list`: every data asset with its latest version."""
    assets = data_assets.list_assets(open_store(store_url))
    if as_json:
        print_json(assets)
    elif not assets:
        print("no data assets yet; register one with `durapipe data register NAME PATH`")
    for a in assets if not as_json else []:
        print(f"{a['name']}  latest {a['latest']} of {a['versions']}  {a['hash'][:12]}  {a['size']} bytes  "
              f"{a['created']}")
    return EXIT_OK


def versions(name: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe data versions`: every version of NAME, oldest first."""
    entries = [_public(e) for e in data_assets.list_versions(open_store(store_url), name)]
    print(json_text(entries) if as_json else "\n".join(_line(e) for e in entries))
    return EXIT_OK


def show(spec: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe data show`: one version (default: the latest) of a data asset."""
    name, version = data_assets.parse_spec(spec)
    entry = _public(data_assets.get_version(open_store(store_url), name, version))
    print(json_text(entry) if as_json else _line(entry))
    return EXIT_OK


def download(spec: str, dest: Path, store_url: str | None, as_json: bool) -> int:
    """`durapipe data download`: write a version's content into folder DEST."""
    name, version = data_assets.parse_spec(spec)
    entry, path = data_assets.download(open_store(store_url), name, version, dest)
    if as_json:
        print(json.dumps({"name": name, "version": entry["version"], "hash": entry["hash"], "path": str(path)}))
    else:
        print(f"data {name}:{entry['version']} written to {path}")
    return EXIT_OK
