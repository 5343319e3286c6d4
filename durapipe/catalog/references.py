"""Resolving input references (`durapipe.model.references` checks their syntax) to store keys and artifacts.

Resolving one is a pure lookup in the store; the run records what each reference resolved to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from durapipe.catalog import data_assets, registry
from durapipe.core.errors import DurapipeError
from durapipe.model.references import DATA, MODEL, NEWEST, PREFIX, data_parts, model_parts, check_reference, prefix_of

if TYPE_CHECKING:
    from durapipe.store.base import Store


@dataclass(frozen=True)
class Resolved:
    """What one reference resolved to: the input source for the run, and a note for its record."""

    source: dict[str, Any] | None
    note: dict[str, Any]


def resolve_reference(store: Store, value: Any, what: str = "input") -> Resolved:
    """The input source `value` names in `store`; raises DurapipeError when it names nothing."""
    check_reference(value, what)
    if value.startswith(NEWEST):
        prefix = value[len(NEWEST):]
        newest = None
        for key in store.list(prefix):
            info = store.stat(key)
            if newest is None or (info.modified, key) > newest:
                newest = (info.modified, key)
        key = newest[1] if newest else None
        return Resolved({"key": key} if key else None, {"reference": value, "key": key})
    if value.startswith(PREFIX):
        prefix = prefix_of(value, what)
        keys = sorted(store.list(prefix))
        if not keys:
            raise DurapipeError(f"The {what} names {value}, but there is no blob under {prefix!r} in the store.")
        etags = store.etags(keys)
        blobs = {key[len(prefix):]: etags[key] for key in keys if key in etags}
        return Resolved({"prefix": {"prefix": prefix, "blobs": blobs}},
                        {"reference": value, "prefix": prefix, "blobs": len(blobs)})
    if value.startswith(MODEL):
        name, version, output = model_parts(value, what)
        entry = registry.champion(store, name) if version == "champion" else registry.get_version(store, name, int(version))
        if entry is None:
            raise DurapipeError(f"The {what} names {value}, but model {name} has no champion yet; "
                                "register a version first.")
        output = output or entry.get("output") or "model"
        if output not in entry["outputs"]:
            raise DurapipeError(f"The {what} names {value}, but version {entry['version']} of model {name} has no "
                                f"output {output!r}; it has: {', '.join(entry['outputs'])}.")
        return Resolved({"artifact": entry["outputs"][output]},
                        {"reference": value, "model": name, "version": entry["version"], "output": output})
    if value.startswith(DATA):
        name, number = data_parts(value, what)
        try:
            entry = data_assets.get_version(store, name, number)
        except DurapipeError as exc:
            raise DurapipeError(f"The {what} names {value}, but {str(exc)[0].lower()}{str(exc)[1:]}") from None
        return Resolved({"artifact": entry["artifact"]},
                        {"reference": value, "data": name, "version": entry["version"], "hash": entry["hash"]})
    if not store.exists(value):
        raise DurapipeError(f"The {what} names the blob {value!r}, which is not in the store.")
    return Resolved({"key": value}, {"reference": value, "key": value})


def resolve_inputs(store: Store, inputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sources for every declared input reference, and what each resolved to (by input name)."""
    sources: dict[str, Any] = {}
    notes: dict[str, Any] = {}
    for name, value in inputs.items():
        resolved = resolve_reference(store, value, f"input {name!r}")
        notes[name] = resolved.note
        if resolved.source is not None:
            sources[name] = resolved.source
    return sources, notes
