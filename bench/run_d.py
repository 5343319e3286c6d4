"""Workload D: hashing a 1 GiB file with durapipe's hasher, hashlib and sha256sum.

    .venv/bin/python bench/run_d.py [--size-mib 1024] [--reps 3]

The file is written once (random bytes) and read once before timing, so every contender
reads from the page cache. Reports throughput and durapipe / hashlib.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Results, median  # noqa: E402
from durapipe.store.hashing import hash_file  # noqa: E402


def hashlib_sha256(path: Path) -> str:
    """Plain single-threaded hashlib over 1 MiB reads: the reference."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sha256sum(path: Path) -> str:
    return subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    results = Results("d")
    folder = Path(tempfile.mkdtemp(prefix="bench-d-"))
    path = folder / "big.bin"
    try:
        with open(path, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        hashlib_sha256(path)  # warm the page cache
        contenders = {"durapipe": lambda: hash_file(path), "hashlib": lambda: hashlib_sha256(path),
                      "sha256sum": lambda: sha256sum(path)}
        times: dict[str, list[float]] = {name: [] for name in contenders}
        digests = set()
        for rep in range(args.reps):
            for name, fn in contenders.items():
                start = time.perf_counter()
                digests.add(fn())
                wall = time.perf_counter() - start
                times[name].append(wall)
                results.write({"kind": "d", "tool": name, "rep": rep, "size_mib": args.size_mib,
                               "wall_s": round(wall, 4), "mib_per_s": round(args.size_mib / wall, 1)})
        assert len(digests) == 1, f"the contenders disagree: {digests}"
    finally:
        path.unlink(missing_ok=True)
        folder.rmdir()
    base = median(times["hashlib"])
    lines = ["| hasher | median | throughput | vs hashlib |", "|---|---|---|---|"]
    for name, values in times.items():
        m = median(values)
        lines.append(f"| {name} | {m:.2f} s | {args.size_mib / m:.0f} MiB/s | {base / m:.2f} |")
    text = "\n".join(lines)
    results.write({"kind": "d-table", "markdown": text})
    print(text + f"\n\nresults: {results.path}")


if __name__ == "__main__":
    main()
