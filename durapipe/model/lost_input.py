"""A step input that could not be read (corrupt, so quarantined, or gone): the sentence a step fails with.

The orchestrator reads the input's name and artifact back from that sentence to have the step that made it
make it again within the run. It reads text because text is all that reaches it through activity retries and
sub-orchestrations (a mapped or remote step), and old histories keep replaying the same way.
"""
from __future__ import annotations

import re
from typing import NamedTuple

_LOST = re.compile(r"Its input '(?P<input>[^']+)' \(artifact (?P<hash>[0-9a-f]{64})\) could not be read: ")


class LostInput(NamedTuple):
    """The input a step could not read, and the hash of the artifact it was bound to."""

    input: str
    hash: str


def lost_input_sentence(name: str, digest: str, reason: str) -> str:
    """What a step whose input `name` (artifact `digest`) could not be read for `reason` fails with."""
    return f"Its input '{name}' (artifact {digest}) could not be read: {reason}"


def lost_input(error: str) -> LostInput | None:
    """The lost input a step's error text names (wherever a partition or retry put it), or None."""
    found = _LOST.search(error)
    return None if found is None else LostInput(found["input"], found["hash"])
