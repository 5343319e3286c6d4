"""Zip entries that depend only on their name and bytes, so the same files always zip to the same bytes."""
from __future__ import annotations

import stat
import zipfile

# The zip format's earliest time: entries carry no clock.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def add_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Write `data` into `archive` as the regular file `name`, deflated, with a fixed time and mode."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    archive.writestr(info, data)
