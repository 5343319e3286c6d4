"""A local HTTPS double of the Azure ML REST subset azure-ai-ml's MLClient uses for command jobs (Azure cannot be reached here).

It answers exactly what durapipe's AzureMLTarget calls, at the paths the real client sends:
- PUT  .../workspaces/WS/jobs/NAME            create a command job (MLClient.jobs.create_or_update)
- GET  .../workspaces/WS/jobs/NAME            the job and its status (jobs.get)
- POST .../workspaces/WS/jobs/NAME/cancel     202 + Location, then the location answers 200 (jobs.begin_cancel)
- GET  .../workspaces/WS                      the workspace, for its discovery URL (read before run history)
- GET  /discovery                             the workspace's service URLs (its "api" is this double)
- GET  /history/v1.0/.../runs/NAME/details    run details with `logFiles` URLs (what jobs.stream reads)
- GET  /logs/NAME/user_logs/std_log.txt       a log file (as a blob SAS URL would be)
- GET  /msi/token                             a managed-identity token endpoint (App Service style), so the
                                              real DefaultAzureCredential gets its fixed token here
Every request is recorded. A created job really runs: its command is executed as a local subprocess
(with `python` meaning this interpreter, as a job environment's would), its output becomes its user
log, and its status moves NotStarted -> Queued -> Running -> Completed | Failed, or CancelRequested ->
Canceled when it is cancelled, as Azure ML reports them. Anything else answers 404, so a call the
client makes that the double does not know shows up as a failure, not as a silent success.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken

TOKEN = "azureml-double-token"
IDENTITY_HEADER = "azureml-double-identity-header"
_WS = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
_JOB = re.compile(_WS + r"/jobs/(?P<name>[^/?]+)")
_CANCEL = re.compile(_WS + r"/jobs/(?P<name>[^/?]+)/cancel")
_OPERATION = re.compile(r"/operations/cancel/(?P<name>[^/?]+)")
_DETAILS = re.compile(r"/history/v1\.0" + _WS + r"(/experimentids/[^/]+)?/runs/(?P<name>[^/?]+)/details")
_WORKSPACE = re.compile(_WS)
_LOG = re.compile(r"/logs/(?P<name>[^/]+)/user_logs/std_log\.txt")
QUEUED_S = 0.2  # how long a job stays Queued before it starts running


class FixedTokenCredential:
    """A credential double: always the double's fixed token (DefaultAzureCredential needs Azure)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


@dataclass
class DoubleJob:
    """A job the double holds: its REST body, status, and the process running its command."""

    body: dict[str, Any]
    status: str = "NotStarted"
    process: subprocess.Popen | None = None
    log: Path | None = None
    cancel_requested: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Request:
    """One request the double received."""

    method: str
    path: str
    body: Any
    authorization: str | None


class AzureMLDouble:
    """The double, serving HTTPS on 127.0.0.1 with a certificate of its own (`ca_file` is what clients trust)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.requests: list[Request] = []
        self.jobs: dict[str, DoubleJob] = {}
        self._lock = threading.Lock()
        self.ca_file = _self_signed_certificate(folder)
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, folder / "key.pem")
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def settings(self) -> dict[str, str]:
        """The environment a durapipe process needs to reach this double with the real client and credential."""
        return {"DURAPIPE_AZUREML_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
                "DURAPIPE_AZUREML_RESOURCE_GROUP": "durapipe-rg", "DURAPIPE_AZUREML_WORKSPACE": "durapipe-ws",
                "DURAPIPE_AZUREML_ENVIRONMENT": "azureml:durapipe-runtime:1", "DURAPIPE_AZUREML_ENDPOINT": self.url,
                "REQUESTS_CA_BUNDLE": str(self.ca_file),
                # DefaultAzureCredential's managed identity (App Service style) is this double.
                "IDENTITY_ENDPOINT": f"{self.url}/msi/token", "IDENTITY_HEADER": IDENTITY_HEADER}

    def calls(self, method: str, pattern: str) -> list[Request]:
        """The recorded requests of `method` whose path matches `pattern` (a regex searched in the path)."""
        with self._lock:
            return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def close(self) -> None:
        """Stop serving and kill every job still running."""
        self._server.shutdown()
        self._server.server_close()
        for job in list(self.jobs.values()):
            if job.process and job.process.poll() is None:
                os.killpg(job.process.pid, signal.SIGKILL)
                job.process.wait()

    # ---------------------------------------------------------------- what the handler calls

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def create(self, name: str, body: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if name in self.jobs:
                return 409, _error("UserError", f"A job with name {name} already exists.")
            props = body.get("properties") or {}
            if props.get("jobType") != "Command" or not props.get("command") or not props.get("computeId"):
                return 400, _error("UserError", "Only command jobs with a command and a compute are accepted.")
            job = DoubleJob(body={"id": path, "name": name, "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                                  "properties": {**props, "status": "NotStarted",
                                                 "services": {"Studio": {"endpoint": f"{self.url}/studio/{name}",
                                                                         "jobServiceType": "Studio"}}},
                                  "systemData": {"createdAt": _now()}})
            self.jobs[name] = job
        threading.Thread(target=self._run, args=(name,), daemon=True).start()
        return 201, self.view(name)

    def view(self, name: str) -> dict[str, Any]:
        job = self.jobs[name]
        return {**job.body, "properties": {**job.body["properties"], "status": job.status}}

    def cancel(self, name: str) -> None:
        job = self.jobs[name]
        with job.lock:
            job.cancel_requested = True
            if job.status in ("Completed", "Failed", "Canceled"):
                return
            job.status = "CancelRequested"
            if job.process is not None and job.process.poll() is None:
                os.killpg(job.process.pid, signal.SIGTERM)

    def details(self, name: str) -> dict[str, Any]:
        job = self.jobs[name]
        files = {"user_logs/std_log.txt": f"{self.url}/logs/{name}/user_logs/std_log.txt"} if job.log else {}
        return {"runId": name, "status": job.status, "logFiles": files, "warnings": []}

    def _run(self, name: str) -> None:
        job = self.jobs[name]
        time.sleep(QUEUED_S / 2)
        with job.lock:
            if job.cancel_requested:
                job.status = "Canceled"
                return
            job.status = "Queued"
        time.sleep(QUEUED_S / 2)
        work = Path(tempfile.mkdtemp(prefix=f"{name[:40]}-", dir=self.folder))
        job.log = work / "std_log.txt"
        props = job.body["properties"]
        env = {**os.environ, **(props.get("environmentVariables") or {}),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "AZUREML_RUN_ID": name}
        with job.lock:
            if job.cancel_requested:
                job.status = "Canceled"
                return
            with open(job.log, "wb") as log:
                job.process = subprocess.Popen(["bash", "-c", props["command"]], cwd=work, env=env, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True)
            job.status = "Running"
        code = job.process.wait()
        with job.lock:
            job.status = "Canceled" if job.cancel_requested else ("Completed" if code == 0 else "Failed")


class _Handler(BaseHTTPRequestHandler):
    double: AzureMLDouble
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the recorded requests say enough
        pass

    def _body(self) -> Any:
        size = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(size) if size else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode(errors="replace")

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", "double")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        body = self._body()
        path = urlsplit(self.path).path
        self.double.record(Request(self.command, self.path, body, self.headers.get("Authorization")))
        if path == "/msi/token":
            if self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
                return self._send(401, _error("Unauthorized", "The identity header is wrong."))
            return self._send(200, {"access_token": TOKEN, "expires_on": str(int(time.time()) + 3600),
                                    "resource": "double", "token_type": "Bearer"})
        if (match := _LOG.fullmatch(path)) and match["name"] in self.double.jobs:
            log = self.double.jobs[match["name"]].log
            return self._send(200, log.read_bytes() if log and log.exists() else b"", content_type="text/plain")
        if path == "/discovery":  # fetched without a token, as a SAS-free public document
            return self._send(200, {"api": self.double.url, "history": self.double.url,
                                    "experimentation": self.double.url, "catalog": self.double.url})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, _error("AuthenticationFailed", "The bearer token is missing or wrong."))
        if self.command == "POST" and (match := _CANCEL.fullmatch(path)):
            if match["name"] not in self.double.jobs:
                return self._send(404, _error("UserError", f"The job {match['name']} was not found."))
            self.double.cancel(match["name"])
            location = f"{self.double.url}/operations/cancel/{match['name']}"
            return self._send(202, None, {"Location": location, "Retry-After": "0"})
        if self.command == "GET" and _OPERATION.fullmatch(path):
            return self._send(200, None)
        if self.command == "GET" and (match := _DETAILS.fullmatch(path)):
            if match["name"] not in self.double.jobs:
                return self._send(404, _error("UserError", f"The run {match['name']} was not found."))
            return self._send(200, self.double.details(match["name"]))
        if self.command == "GET" and (match := _WORKSPACE.fullmatch(path)):
            return self._send(200, {"id": path, "name": match["ws"], "location": "westeurope",
                                    "type": "Microsoft.MachineLearningServices/workspaces", "kind": "Default",
                                    "properties": {"discoveryUrl": f"{self.double.url}/discovery",
                                                   "workspaceId": "00000000-0000-0000-0000-00000000d0b1"}})
        if (match := _JOB.fullmatch(path)) and self.command in ("PUT", "GET"):
            name = match["name"]
            if self.command == "PUT":
                status, answer = self.double.create(name, body or {}, path)
                return self._send(status, answer)
            if name not in self.double.jobs:
                return self._send(404, _error("UserError", f"The job {name} was not found."))
            return self._send(200, self.double.view(name))
        return self._send(404, _error("NotFound", f"The double does not serve {self.command} {path}."))

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _self_signed_certificate(folder: Path) -> Path:
    """A certificate for 127.0.0.1 (written to cert.pem, its key to key.pem); the client trusts it as its CA bundle."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azureml-double")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    path = folder / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path
