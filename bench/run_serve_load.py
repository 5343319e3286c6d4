"""Workload S: `durapipe serve` under simultaneous requests, and a large download, today's front beside the one before.

    .venv/bin/python bench/run_serve_load.py                    # 30, 100, 200 at once, 3 rounds each (~2 min)
    .venv/bin/python bench/run_serve_load.py --levels 200 --rounds 5 --download-mib 1024

Two `durapipe serve` processes of the example project (`pipelines/`), each on a folder store of its own:

- before: the tree of BEFORE_COMMIT (the last commit with the http.server front), exported with
  `git archive` into a temporary folder and put first on PYTHONPATH, run by this .venv's Python;
- after: this working tree.

For each level, rounds alternate between the two: that many connections open at once (one asyncio
client, raw sockets), each sends `GET /api/pipelines` with the key and reads the answer to its end
within --timeout seconds. A connection refused or reset, or an answer that does not arrive in time,
counts as such; the latencies (connect to last byte) of the answered ones give p50/p90/p99.

With --download-mib N, an artifact of N MiB is written into each store under a run record, then
downloaded once from each server, while the server's VmRSS is sampled every 10 ms: the growth is
the peak less the value just before. Rows go to bench/results/serve-load-*.jsonl.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, REPO, Results  # noqa: E402

BEFORE_COMMIT = "5a5dd91"  # the last commit whose serve front is http.server's ThreadingHTTPServer
KEY = "bench-serve-key-0123456789abcdef"
PROJECT = REPO / "pipelines"
ROUTE = "/api/pipelines"


def export_tree(commit: str, into: Path) -> Path:
    """The files of `commit` in `into` (git archive: the repository is not touched)."""
    archive = into / "tree.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "-C", str(REPO), "archive", commit], stdout=out, check=True)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    return tree


class Serve:
    """One `durapipe serve --port 0` of the example project, from `tree` (its durapipe first on the path)."""

    def __init__(self, name: str, tree: Path, work: Path) -> None:
        self.name = name
        self.store = work / f"{name}-store"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DURAPIPE_")}
        env.update({"DURAPIPE_HOME": str(work / f"{name}-home"), "DURAPIPE_FUNCTION_KEY": KEY,
                    "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"})
        found = subprocess.run([str(PYTHON), "-c", "import durapipe; print(durapipe.__file__)"], env=env, cwd=PROJECT,
                               capture_output=True, text=True, check=True).stdout.strip()
        if not found.startswith(str(tree)):
            raise RuntimeError(f"{name}: durapipe imports from {found}, not from {tree}")
        self.errors = open(work / f"{name}-serve.err", "ab")
        self.process = subprocess.Popen(
            [str(PYTHON), "-m", "durapipe.cli", "serve", "--port", "0", "--store", str(self.store),
             "--max-parallel", "2"], cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=self.errors, text=True)
        deadline = time.monotonic() + 120
        self.base_url = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"{name}: serve exited ({self.process.wait()}); see {self.errors.name}")
            if line.startswith("durapipe serve: listening on "):
                self.base_url = line.rsplit(" ", 1)[1].strip().rstrip("/")
            if line.startswith("Press Ctrl+C"):
                break
        self.port = int(self.base_url.rsplit(":", 1)[1])

    def backlog(self) -> int | None:
        """The accept-queue limit of the listening socket (`ss` shows it as Send-Q)."""
        out = subprocess.run(["ss", "-ltnH", f"sport = :{self.port}"], capture_output=True, text=True).stdout.split()
        return int(out[2]) if len(out) > 2 else None

    def rss(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.process.send_signal(2)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.errors.close()


async def _one(port: int, timeout: float) -> tuple[str, float]:
    request = (f"GET {ROUTE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-functions-key: {KEY}\r\n"
               "Connection: close\r\n\r\n").encode()
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request)
                await writer.drain()
                answer = await reader.read()
            finally:
                writer.close()
    except TimeoutError:
        return "timeout", time.perf_counter() - start
    except ConnectionRefusedError:
        return "refused", time.perf_counter() - start
    except (ConnectionResetError, BrokenPipeError):
        return "reset", time.perf_counter() - start
    except OSError as exc:
        return f"error {exc.errno}", time.perf_counter() - start
    elapsed = time.perf_counter() - start
    if not answer:
        return "reset", elapsed  # closed without a byte of answer
    return answer.split(b" ", 2)[1].decode(), elapsed


async def _burst(port: int, count: int, timeout: float) -> list[tuple[str, float]]:
    return await asyncio.gather(*(_one(port, timeout) for _ in range(count)))


def burst(serve: Serve, count: int, timeout: float) -> dict[str, Any]:
    """`count` simultaneous requests to ROUTE: outcome counts and latency percentiles of the answered."""
    outcomes = asyncio.run(_burst(serve.port, count, timeout))
    answered = sorted(seconds for status, seconds in outcomes if status == "200")
    counts: dict[str, int] = {}
    for status, _ in outcomes:
        counts[status] = counts.get(status, 0) + 1

    def pct(p: float) -> float:
        if not answered:
            return float("nan")
        return answered[min(len(answered) - 1, max(0, round(p / 100 * len(answered) + 0.5) - 1))]

    return {"requests": count, "ok": counts.get("200", 0), "reset": counts.get("reset", 0),
            "refused": counts.get("refused", 0), "timeout": counts.get("timeout", 0),
            "other": {k: v for k, v in counts.items() if k not in ("200", "reset", "refused", "timeout")},
            "p50_s": pct(50), "p90_s": pct(90), "p99_s": pct(99), "max_s": answered[-1] if answered else float("nan")}


def write_large_run(store: Path, size: int) -> tuple[str, str]:
    """A run record naming an output of `size` bytes written straight into the folder store: (run id, hash)."""
    (store / "artifacts").mkdir(parents=True, exist_ok=True)
    temp = store / ".large.tmp"
    block = hashlib.sha256(b"bench").digest() * (1 << 17)  # 4 MiB
    hasher = hashlib.sha256()
    with open(temp, "wb") as out:
        for index in range(size // len(block)):
            chunk = index.to_bytes(8, "big") + block[8:]
            hasher.update(chunk)
            out.write(chunk)
    digest = hasher.hexdigest()
    os.replace(temp, store / "artifacts" / digest)
    run_id = "bench-large-download"
    (store / "runs").mkdir(parents=True, exist_ok=True)
    record = {"schema": 1, "run_id": run_id, "pipeline": "retrain", "status": "completed",
              "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:00:01+00:00", "error": None,
              "steps": {}, "outputs": {"large": {"hash": digest, "kind": "file", "size": size}}}
    (store / "runs" / f"{run_id}.json").write_text(json.dumps(record))
    return run_id, digest


def download(serve: Serve, run_id: str, digest: str, size: int) -> dict[str, Any]:
    """Download the large output once while sampling the server's RSS."""
    baseline, peak, done = serve.rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], serve.rss())
            done.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start, received = time.perf_counter(), 0
    try:
        request = urllib.request.Request(f"{serve.base_url}/api/runs/{run_id}/artifacts/{digest}",
                                         headers={"x-functions-key": KEY})
        with urllib.request.urlopen(request, timeout=600) as response:
            while chunk := response.read(1 << 20):
                received += len(chunk)
    finally:
        done.set()
        sampler.join()
    return {"bytes": received, "complete": received == size, "seconds": time.perf_counter() - start,
            "rss_before_mib": baseline / 2**20, "rss_peak_mib": peak[0] / 2**20,
            "rss_growth_mib": (peak[0] - baseline) / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="30,100,200", help="simultaneous requests per burst, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per level and server")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take")
    parser.add_argument("--before", default=BEFORE_COMMIT, help="the commit of the front to compare with")
    parser.add_argument("--download-mib", type=int, default=0, help="also download an artifact of this size")
    args = parser.parse_args()
    results = Results("serve-load")
    with tempfile.TemporaryDirectory(prefix="durapipe-serve-load-") as folder:
        work = Path(folder)
        fronts = {"before": export_tree(args.before, work), "after": REPO}
        serves = {name: Serve(name, tree, work) for name, tree in fronts.items()}
        backlogs = {name: serve.backlog() for name, serve in serves.items()}
        try:
            for name, serve in serves.items():
                results.write({"kind": "server", "front": name, "backlog": backlogs[name],
                               "commit": args.before if name == "before" else "working tree"})
                for _ in range(5):  # warm: imports, the catalog
                    burst(serve, 1, args.timeout)
            rows: list[dict[str, Any]] = []
            for level in [int(n) for n in args.levels.split(",")]:
                for round_ in range(args.rounds):
                    order = list(serves.items()) if round_ % 2 == 0 else list(reversed(serves.items()))
                    for name, serve in order:
                        row = {"kind": "burst", "front": name, "round": round_, **burst(serve, level, args.timeout),
                               "load_avg": os.getloadavg()[0]}
                        results.write(row)
                        rows.append(row)
                        time.sleep(1)  # let the previous burst's connections close
            downloads: dict[str, dict[str, Any]] = {}
            if args.download_mib:
                size = args.download_mib << 20
                for name, serve in serves.items():
                    run_id, digest = write_large_run(serve.store, size)
                    burst(serve, 1, args.timeout)
                    downloads[name] = {"kind": "download", "front": name, "mib": args.download_mib,
                                       **download(serve, run_id, digest, size)}
                    results.write(downloads[name])
        finally:
            for serve in serves.values():
                serve.stop()
    print(f"results: {results.path}\n")
    print("accept queue (ss Send-Q): " + ", ".join(f"{name} {queue}" for name, queue in backlogs.items()) + "\n")
    print("| front | at once | rounds | answered | reset | refused | timed out | p50 | p90 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for level in [int(n) for n in args.levels.split(",")]:
        for name in serves:
            mine = [r for r in rows if r["front"] == name and r["requests"] == level]

            def med(key: str) -> str:
                values = [r[key] for r in mine if r[key] == r[key]]
                return f"{statistics.median(values):.3f} s" if values else "-"

            print(f"| {name} | {level} | {len(mine)} | {sum(r['ok'] for r in mine)}/{level * len(mine)} | "
                  f"{sum(r['reset'] for r in mine)} | {sum(r['refused'] for r in mine)} | "
                  f"{sum(r['timeout'] for r in mine)} | {med('p50_s')} | {med('p90_s')} | {med('p99_s')} | "
                  f"{med('max_s')} |")
    for name, row in downloads.items():
        print(f"\ndownload {row['mib']} MiB from {name}: complete {row['complete']}, {row['seconds']:.1f} s, RSS "
              f"{row['rss_before_mib']:.0f} -> peak {row['rss_peak_mib']:.0f} MiB (+{row['rss_growth_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
