"""The first thing an Azure ML job runs: fetch the job's code bundle from durapipe's store, then run the step.

`python -c <this file's source> STORE_URL BUNDLE_SHA256 PAYLOAD`. Standard library only (plus
azure-storage-blob and azure-identity for a Blob store), because durapipe itself is in the bundle:
the job runs exactly the durapipe and project code the orchestrator hashed, never what the job's
environment happens to have installed.
"""
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from urllib.parse import unquote, urlsplit

# Azurite's public development account and key (the same as durapipe.store.url's); only a local emulator.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def read_key(store_url, key):
    """The bytes stored under `key` in the store `store_url` names (a folder, file://, or a Blob URL)."""
    if "://" not in store_url or store_url.startswith("file://"):
        root = unquote(urlsplit(store_url).path) if store_url.startswith("file://") else store_url
        with open(os.path.join(root, *key.split("/")), "rb") as stream:
            return stream.read()
    parts = urlsplit(store_url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    from azure.storage.blob import BlobClient

    if parts.scheme == "http":  # Azurite: http://127.0.0.1:PORT/devstoreaccount1/CONTAINER[/prefix]
        account_url = f"http://{parts.netloc}/{segments[0]}"
        credential = {"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        segments = segments[1:]
    else:  # https://ACCOUNT.blob.core.windows.net/CONTAINER[/prefix], with the compute's managed identity
        from azure.identity import DefaultAzureCredential

        account_url, credential = f"https://{parts.netloc}", DefaultAzureCredential()
    blob = "/".join(segments[1:] + [key])
    return BlobClient(account_url, segments[0], blob, credential=credential).download_blob().readall()


def fetch_bundle(store_url, digest, dest):
    """Download the bundle artifact `digest`, check its hash, and unpack it into `dest`."""
    data = read_key(store_url, "artifacts/" + digest)
    if hashlib.sha256(data).hexdigest() != digest:
        raise SystemExit(f"durapipe: the code bundle {digest[:12]} in the store does not match its hash")
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        bundle.extractall(dest)


def main(argv):
    """Unpack the bundle and run durapipe's remote entry point from the project folder; return its exit code."""
    store_url, digest, payload = argv[1:4]
    dest = tempfile.mkdtemp(prefix="durapipe-job-")
    fetch_bundle(store_url, digest, dest)
    lib, project = os.path.join(dest, "lib"), os.path.join(dest, "project")
    os.makedirs(project, exist_ok=True)
    path = os.pathsep.join(p for p in (lib, project, os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-m", "durapipe.executors.remote.entry", payload], cwd=project,
                          env={**os.environ, "PYTHONPATH": path})
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
