"""Every store key durapipe writes, built by one helper per kind from validated names.

Nothing that reaches a key is taken from input unchecked: hashes must be hex digests, names
must match the name pattern, and a delivery (a plain key a user asked for) may never land
under one of durapipe's own prefixes.
"""
from __future__ import annotations

import re

from durapipe.core.errors import InvalidNameError
from durapipe.core.names import check_blob_name, check_id, check_name

ARTIFACTS, STEPS, RUNS, MODELS, PIPELINES, POISON, QUARANTINE, DATA, INDEX, REMOTE, LEASES = (
    "artifacts/", "steps/", "runs/", "models/", "pipelines/", "poison/", "quarantine/", "data/", "index/", "remote/",
    "leases/")
RESERVED_PREFIXES = (ARTIFACTS, STEPS, RUNS, MODELS, PIPELINES, POISON, QUARANTINE, DATA, INDEX, REMOTE, LEASES)
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}", re.ASCII)
_HEX = re.compile(r"^[0-9a-f]{64}$")


def check_digest(value: object, what: str = "content hash") -> str:
    """Return `value` when it is a sha256 hex digest, else raise."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise InvalidNameError(f"The {what} {value!r} is not valid: it must be 64 lower-case hex digits.")
    return value


def artifact_key(digest: str) -> str:
    """`artifacts/<sha256>`: a content-addressed file or folder manifest."""
    return ARTIFACTS + check_digest(digest)


def step_key(fingerprint: str) -> str:
    """`steps/<fingerprint>.json`: the one commit of a step result."""
    return f"{STEPS}{check_digest(fingerprint, 'fingerprint')}.json"


def lease_key(fingerprint: str) -> str:
    """`leases/<fingerprint>.json`: who is computing this fingerprint now, and until when (durapipe.store.leases)."""
    return f"{LEASES}{check_digest(fingerprint, 'fingerprint')}.json"


def step_index_key(pipeline: str) -> str:
    """`index/steps/<pipeline>.json`: the commits the last run of a pipeline used (a hint)."""
    return f"{INDEX}steps/{check_name(pipeline, 'pipeline name')}.json"


def remote_result_key(job_name: str) -> str:
    """`remote/<job name>.json`: how a remote step's job ended, written by the job itself."""
    if not isinstance(job_name, str) or not _JOB_NAME.fullmatch(job_name) or ".." in job_name:
        raise InvalidNameError(f"The remote job name {job_name!r} is not valid.")
    return f"{REMOTE}{job_name}.json"


def run_key(run_id: str) -> str:
    """`runs/<run-id>.json`: a run record."""
    return f"{RUNS}{check_id(run_id)}.json"


def model_prefix(name: str) -> str:
    """`models/<name>/`: every key of one model."""
    return f"{MODELS}{check_name(name, 'model name')}/"


def model_version_key(name: str, version: int) -> str:
    """`models/<name>/<version>.json`: one immutable model version."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidNameError(f"The model version {version!r} is not valid: it must be a whole number from 1.")
    return f"{model_prefix(name)}{version}.json"


def champion_key(name: str) -> str:
    """`models/<name>/champion.json`: which version of a model serves."""
    return f"{model_prefix(name)}champion.json"


def poison_key(blob_key: str) -> str:
    """`poison/<blob key>.json`: why an arrived blob was given up on."""
    return f"{POISON}{check_blob_name(blob_key, 'arrived blob name')}.json"


def quarantine_key(key: str) -> str:
    """`quarantine/<key>`: where a corrupt stored object is moved aside to."""
    return f"{QUARANTINE}{check_blob_name(key, 'quarantined key')}"


def check_delivery_key(key: object) -> str:
    """Return `key` when a run may write a delivered output there: a safe blob name outside durapipe's own prefixes."""
    check_blob_name(key, "delivery key")
    assert isinstance(key, str)
    for prefix in RESERVED_PREFIXES:
        if key.startswith(prefix):
            raise InvalidNameError(f"The delivery key {key!r} is not allowed: {prefix} holds durapipe's own "
                                   "records; deliver outputs under another prefix, such as 'scores/'.")
    return key


def _version_number(version: object, what: str) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidNameError(f"The {what} version {version!r} is not valid: it must be a whole number from 1.")
    return version


def data_prefix(name: str) -> str:
    """`data/<name>/`: every version of one data asset."""
    return f"{DATA}{check_name(name, 'data asset name')}/"


def data_version_key(name: str, version: int) -> str:
    """`data/<name>/<version>.json`: one immutable data version."""
    return f"{data_prefix(name)}{_version_number(version, 'data')}.json"


def content_claim_key(kind: str, name: str, digest: str) -> str:
    """`index/<kind>/<name>/<sha256>.json`: which version of a data asset or model holds this content."""
    if kind not in ("data", "models"):
        raise InvalidNameError(f"The registry kind {kind!r} is not valid: it must be 'data' or 'models'.")
    return f"index/{kind}/{check_name(name, f'{kind} name')}/{check_digest(digest)}.json"


def producer_key(digest: str) -> str:
    """`index/producers/<sha256>.json`: the run and step that first produced this artifact (for lineage)."""
    return f"index/producers/{check_digest(digest)}.json"


def delivery_claim_key(key: str) -> str:
    """`index/deliveries/<sha256 of the key>.json`: which version of which source blob the output delivered to `key` is for."""
    import hashlib

    return f"{INDEX}deliveries/{hashlib.sha256(check_delivery_key(key).encode()).hexdigest()}.json"
