"""Input references: what a schedule, a blob trigger or an HTTP request may name as a pipeline input.

- `incoming/data.csv`: a blob in the store (never a local path);
- `newest:training/`: the most recently written blob under that prefix (none: the input is left out);
- `data:NAME` (the latest version) or `data:NAME:2`: a registered data version;
- `model:NAME:champion` or `model:NAME:3`: the model output of that registered version, and
  `model:NAME:champion:OUTPUT` another output registered with it (such as a scaler).

Resolving one is a pure lookup in the store; the run records what each reference resolved to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from durapipe.errors import DurapipeError, InvalidNameError
from durapipe.names import check_blob_name, check_name

NEWEST, MODEL, DATA = "newest:", "model:", "data:"
REFERENCE_PREFIXES = (NEWEST, MODEL, DATA)


@dataclass(frozen=True)
class Resolved:
    """What one reference resolved to: the input source for the run, and a note for its record."""

    source: dict[str, Any] | None
    note: dict[str, Any]


def check_reference(value: Any, what: str = "input") -> str:
    """Return `value` when it is a well-formed input reference, else raise naming what is wrong."""
    if not isinstance(value, str):
        raise InvalidNameError(f"The {what} must be a blob name or a reference such as 'model:NAME:champion', "
                               f"not {value!r}.")
    if value.startswith(NEWEST):
        prefix = value[len(NEWEST):]
        check_blob_name(prefix.rstrip("/") or "x", f"prefix of {what}")
    elif value.startswith(MODEL):
        _model_parts(value, what)
    elif value.startswith(DATA):
        _data_parts(value, what)
    else:
        check_blob_name(value, f"blob name of {what}")
    return value


def _model_parts(value: str, what: str) -> tuple[str, str, str | None]:
    parts = value[len(MODEL):].split(":")
    if len(parts) not in (2, 3):
        raise InvalidNameError(f"The {what} {value!r} is not a model reference: write model:NAME:champion, "
                               "model:NAME:VERSION or model:NAME:VERSION:OUTPUT.")
    name, version = check_name(parts[0], f"model name in {what}"), parts[1]
    if version != "champion" and not (version.isdigit() and int(version) >= 1):
        raise InvalidNameError(f"The {what} {value!r} names version {version!r}: use 'champion' or a number from 1.")
    output = check_name(parts[2], f"output name in {what}") if len(parts) == 3 else None
    return name, version, output


def _data_parts(value: str, what: str) -> tuple[str, int | None]:
    parts = value[len(DATA):].split(":")
    if len(parts) not in (1, 2):
        raise InvalidNameError(f"The {what} {value!r} is not a data reference: write data:NAME or data:NAME:VERSION.")
    name = check_name(parts[0], f"data asset name in {what}")
    if len(parts) == 1:
        return name, None
    if not (parts[1].isdigit() and int(parts[1]) >= 1):
        raise InvalidNameError(f"The {what} {value!r} names version {parts[1]!r}: use a number from 1.")
    return name, int(parts[1])


def resolve_reference(store: Any, value: Any, what: str = "input") -> Resolved:
    """The input source `value` names in `store`; raises DurapipeError when it names nothing."""
    from durapipe import registry

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
    if value.startswith(MODEL):
        name, version, output = _model_parts(value, what)
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
        from durapipe import data_assets

        name, number = _data_parts(value, what)
        try:
            entry = data_assets.get_version(store, name, number)
        except DurapipeError as exc:
            raise DurapipeError(f"The {what} names {value}, but {str(exc)[0].lower()}{str(exc)[1:]}") from None
        return Resolved({"artifact": entry["artifact"]},
                        {"reference": value, "data": name, "version": entry["version"], "hash": entry["hash"]})
    if not store.exists(value):
        raise DurapipeError(f"The {what} names the blob {value!r}, which is not in the store.")
    return Resolved({"key": value}, {"reference": value, "key": value})


def resolve_inputs(store: Any, inputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sources for every declared input reference, and what each resolved to (by input name)."""
    sources: dict[str, Any] = {}
    notes: dict[str, Any] = {}
    for name, value in inputs.items():
        resolved = resolve_reference(store, value, f"input {name!r}")
        notes[name] = resolved.note
        if resolved.source is not None:
            sources[name] = resolved.source
    return sources, notes
