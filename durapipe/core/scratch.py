"""Scratch folders for a step's inputs and outputs: under the host's state folder when a host says where.

A local host points DURAPIPE_SCRATCH at a folder of its own (durapipe/host/host_scratch.py) and sweeps
the folders of hosts that died, so a crash or a kill leaves no `durapipe-<step>-*` behind for long.
Elsewhere (Azure) scratch goes to the system's temporary folder.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

SCRATCH_ENV = "DURAPIPE_SCRATCH"


def new_scratch_dir(prefix: str) -> Path:
    """A new, empty scratch folder named `<prefix>*` (the caller removes it when done)."""
    root = os.environ.get(SCRATCH_ENV)
    if root:
        os.makedirs(root, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root or None))
