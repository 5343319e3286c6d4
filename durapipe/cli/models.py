"""`durapipe models list/show/register/promote/export`: the model registry's versions and champions."""
from __future__ import annotations

from pathlib import Path

from durapipe.catalog import registry
from durapipe.cli.output import print_json
from durapipe.cli.render import EXIT_OK
from durapipe.core.errors import UsageError
from durapipe.core.names import check_name
from durapipe.store.url import open_store


def list_all_models(store_url: str | None, as_json: bool) -> int:
    """`durapipe models list` with no NAME: every model and its champion."""
    rows = registry.list_models(open_store(store_url))
    if as_json:
        print_json(rows)
    elif not rows:
        print("no models registered yet")
    for row in rows if not as_json else []:
        print(f"{row['name']}  {row['versions']} versions  champion v{row['champion']}  {row['metric']}={row['value']}")
    return EXIT_OK


def list_models(name: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe models list NAME`: the versions of a model, oldest first."""
    store = open_store(store_url)
    versions = registry.list_versions(store, name)
    current = registry.champion(store, name)
    rows = [{"version": v["version"], "champion": bool(current and current["version"] == v["version"]),
             "metric": v.get("metric"), "value": v["metrics"].get(v.get("metric")), "run_id": v["run_id"],
             "created": v["created"]} for v in versions]
    if as_json:
        print_json(rows)
    elif not rows:
        print(f"model {name} has no versions yet")
    for row in rows if not as_json else []:
        mark = "*" if row["champion"] else " "
        print(f"{mark} v{row['version']}  {row['metric']}={row['value']}  run {row['run_id']}  {row['created']}")
    return EXIT_OK


def show_model(name: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe models show`: one model's versions, metrics and champion."""
    shown = registry.describe_model(open_store(store_url), check_name(name, "model name"))
    if as_json:
        print_json(shown)
        return EXIT_OK
    print(f"model {name}: champion version {shown['champion']}")
    for v in shown["versions"]:
        mark = "*" if v["version"] == shown["champion"] else " "
        metrics = " ".join(f"{k}={val}" for k, val in sorted(v["metrics"].items()) if isinstance(val, (int, float)))
        print(f"{mark} v{v['version']}  run {v['run_id']}  {v['created']}  {metrics}")
    return EXIT_OK


def register_model(run_id: str, name: str, store_url: str | None, as_json: bool) -> int:
    """`durapipe models register`: add RUN_ID's model output as a version of NAME; the policy decides the champion."""
    from durapipe.engine.model_registration import register_run_model
    from durapipe.store.records import read_run_record

    store = open_store(store_url)
    entry, created, promoted = register_run_model(store, read_run_record(store, run_id), name)
    current = registry.champion(store, name)
    result = {"model": name, "version": entry["version"], "new": created, "run_id": entry["run_id"],
              "champion": current["version"] if current else None}
    if as_json:
        print_json(result)
    else:
        verb = "registered" if created else "already registered as"
        tail = " (champion)" if promoted else f"; the champion stays version {result['champion']}"
        print(f"run {run_id}: {verb} model {name} version {entry['version']}{tail}")
    return EXIT_OK


def register_model_files(name: str, path: Path, metrics: str | None, store_url: str | None, as_json: bool) -> int:
    """`durapipe models register NAME --path`: add a file or folder (a pretrained model) as a version of NAME."""
    import json

    from durapipe.store.artifacts import put_artifact

    try:
        parsed = None if metrics is None else json.loads(metrics)
    except ValueError as exc:
        raise UsageError(f"--metrics must be a JSON object such as '{{\"auc\": 0.9}}': {exc}.") from None
    store = open_store(store_url)
    entry, created, champion = registry.register_files(store, name, put_artifact(store, path),
                                                       str(path.resolve()), parsed)
    current = registry.champion(store, name)
    result = {"model": name, "version": entry["version"], "new": created, "run_id": None,
              "source": entry.get("source"), "champion": current["version"] if current else None}
    if as_json:
        print_json(result)
    else:
        verb = "registered" if created else "already registered as"
        tail = " (champion)" if champion else f"; the champion stays version {result['champion']}"
        print(f"{path}: {verb} model {name} version {entry['version']}{tail}")
    return EXIT_OK


def promote_model(name: str, version: int, store_url: str | None, as_json: bool) -> int:
    """`durapipe models promote`: make version V of NAME the champion, whatever its metric."""
    entry = registry.promote(open_store(store_url), check_name(name, "model name"), version)
    if as_json:
        print_json({"model": name, "champion": entry["version"]})
    else:
        print(f"model {name}: version {entry['version']} is the champion")
    return EXIT_OK


def export_model(name: str, dest: Path, version: int | None, store_url: str | None) -> int:
    """`durapipe models export`: write a version's artifacts (default: the champion) into `dest`."""
    from durapipe.store.artifacts import get_artifact

    store = open_store(store_url)
    entry = registry.get_version(store, name, version) if version is not None else registry.champion(store, name)
    if entry is None:
        raise UsageError(f"Model {name} has no champion yet; run a retraining with --register-model {name} first.")
    dest.mkdir(parents=True, exist_ok=True)
    for output, ref in entry["outputs"].items():
        get_artifact(store, ref, dest / output)
    print(f"model {name} version {entry['version']} written to {dest}")
    return EXIT_OK
