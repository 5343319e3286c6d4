"""Input references: what a schedule, a blob trigger or an HTTP request may name as a pipeline input.

- `incoming/data.csv`: a blob in the store (never a local path);
- `newest:training/`: the most recently written blob under that prefix (none: the input is left out);
- `prefix:incoming/b1/`: the folder of the blobs under that prefix, each by its ETag (a mapped step runs once
  per blob);
- `data:NAME` (the latest version) or `data:NAME:2`: a registered data version;
- `model:NAME:champion` or `model:NAME:3`: the model output of that registered version, and
  `model:NAME:champion:OUTPUT` another output registered with it (such as a scaler).

Their syntax is checked here, where definitions can check it; `durapipe.catalog.references` resolves them.
"""
from __future__ import annotations

from typing import Any

from durapipe.core.errors import DurapipeError, InvalidNameError
from durapipe.core.names import check_blob_name, check_name

NEWEST, MODEL, DATA, PREFIX = "newest:", "model:", "data:", "prefix:"
REFERENCE_PREFIXES = (NEWEST, MODEL, DATA, PREFIX)


def check_reference(value: Any, what: str = "input") -> str:
    """Return `value` when it is a well-formed input reference, else raise naming what is wrong."""
    if not isinstance(value, str):
        raise InvalidNameError(f"The {what} must be a blob name or a reference such as 'model:NAME:champion', "
                               f"not {value!r}.")
    if value.startswith(NEWEST):
        prefix = value[len(NEWEST):]
        check_blob_name(prefix.rstrip("/") or "x", f"prefix of {what}")
    elif value.startswith(PREFIX):
        prefix_of(value, what)
    elif value.startswith(MODEL):
        model_parts(value, what)
    elif value.startswith(DATA):
        data_parts(value, what)
    else:
        check_blob_name(value, f"blob name of {what}")
    return value


def prefix_of(value: str, what: str) -> str:
    """The store prefix a `prefix:` reference names, ending in "/"."""
    prefix = value[len(PREFIX):].rstrip("/")
    if not prefix:
        raise InvalidNameError(f"The {what} {value!r} names no prefix: write prefix:FOLDER/, such as prefix:incoming/b1/.")
    check_blob_name(prefix, f"prefix of {what}")
    return prefix + "/"


def model_parts(value: str, what: str) -> tuple[str, str, str | None]:
    parts = value[len(MODEL):].split(":")
    if len(parts) not in (2, 3):
        raise InvalidNameError(f"The {what} {value!r} is not a model reference: write model:NAME:champion, "
                               "model:NAME:VERSION or model:NAME:VERSION:OUTPUT.")
    name, version = check_name(parts[0], f"model name in {what}"), parts[1]
    if version != "champion" and not (version.isdigit() and int(version) >= 1):
        raise InvalidNameError(f"The {what} {value!r} names version {version!r}: use 'champion' or a number from 1.")
    output = check_name(parts[2], f"output name in {what}") if len(parts) == 3 else None
    return name, version, output


def data_parts(value: str, what: str) -> tuple[str, int | None]:
    parts = value[len(DATA):].split(":")
    if len(parts) not in (1, 2):
        raise InvalidNameError(f"The {what} {value!r} is not a data reference: write data:NAME or data:NAME:VERSION.")
    name = check_name(parts[0], f"data asset name in {what}")
    if len(parts) == 1:
        return name, None
    if not (parts[1].isdigit() and int(parts[1]) >= 1):
        raise InvalidNameError(f"The {what} {value!r} names version {parts[1]!r}: use a number from 1.")
    return name, int(parts[1])
