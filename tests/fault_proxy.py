"""A small TCP proxy in front of Azurite that injects storage faults: 503s, connection resets and stalls.

Modes apply per new request (each HTTP request on a connection is checked, so keep-alive
connections see a mode change too): "pass" forwards, "503" answers 503 Server Busy, "reset"
closes the connection with a TCP reset, "stall" reads the request and never answers. `fail_every`
makes only every n-th request fail (the others pass), for flaky rather than dead storage; `only`
(a method and a path fragment, as `("PUT", "/index/steps/")`) fails only the requests that match it.
"""
from __future__ import annotations

import socket
import struct
import threading

BUSY = (b"HTTP/1.1 503 Server Busy\r\nContent-Length: 0\r\nx-ms-error-code: ServerBusy\r\n"
        b"Connection: close\r\n\r\n")
MODES = ("pass", "503", "reset", "stall")


class FaultProxy:
    """Listens on 127.0.0.1:port and forwards to target_port, failing requests as `mode` says."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode = "pass"
        self.fail_every = 1
        self.only: tuple[str, str] | None = None
        self.requests = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()

    def set(self, mode: str, fail_every: int = 1, only: tuple[str, str] | None = None) -> None:
        """Fail requests from now on as `mode` (one of MODES), only every `fail_every`-th one (of those matching `only`)."""
        assert mode in MODES, mode
        with self._lock:
            self.mode, self.fail_every, self.only, self.requests = mode, fail_every, only, 0

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._closed = True
        self._listener.close()
        for sock in list(self._open):
            _close(sock)

    def _decide(self, head: bytes) -> str:
        with self._lock:
            if self.only is not None:
                method, _, rest = head.partition(b" ")
                if method.decode() != self.only[0] or self.only[1].encode() not in rest.split(b" ", 1)[0]:
                    return "pass"
            self.requests += 1
            if self.mode == "pass" or self.requests % self.fail_every:
                return "pass"
            return self.mode

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._open.add(client)
        upstream: socket.socket | None = None
        try:
            while True:
                head, start = _read_head(client)
                if not head:
                    return
                mode = self._decide(head)
                if mode == "reset":
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                body = _read_body(client, head, start)
                if mode == "503":
                    client.sendall(BUSY)
                    return
                if mode == "stall":
                    client.recv(1)  # until the client gives up and closes
                    return
                if upstream is None:
                    upstream = socket.create_connection(("127.0.0.1", self.target_port))
                    self._open.add(upstream)
                upstream.sendall(head + body)
                if not _relay_response(upstream, client, head_only=head.startswith(b"HEAD ")):
                    return
        except OSError:
            return
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    self._open.discard(sock)
                    _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """One request's head and what arrived after it (the start of its body); (b"", b"") at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip() or 0)
    return 0


def _read_body(sock: socket.socket, head: bytes, body: bytes) -> bytes:
    length = _content_length(head)
    while len(body) < length:
        chunk = sock.recv(min(65536, length - len(body)))
        if not chunk:
            break
        body += chunk
    return body


def _relay_response(upstream: socket.socket, client: socket.socket, head_only: bool = False) -> bool:
    """Copy one response from upstream to client; False when the connection must close after it.

    The answer to a HEAD request (and a 204 or 304) has no body, whatever its Content-Length says.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = upstream.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b""
    length = 0 if head_only or status in (b"204", b"304") else _content_length(head + b"\r\n")
    chunked = b"transfer-encoding: chunked" in head.lower()
    client.sendall(head + b"\r\n\r\n" + rest)
    if chunked:
        # Relayed chunk by chunk up to the last (empty) one: the upstream connection stays open after it.
        return _relay_chunks(upstream, client, rest) and b"connection: close" not in head.lower()
    sent = len(rest)
    while sent < length:
        chunk = upstream.recv(min(65536, length - sent))
        if not chunk:
            return False
        client.sendall(chunk)
        sent += len(chunk)
    return b"connection: close" not in head.lower()


def _relay_chunks(upstream: socket.socket, client: socket.socket, data: bytes) -> bool:
    """Relay a chunked body whose first bytes are `data`; False when the upstream closed before its end."""
    while True:
        while b"\r\n" not in data:
            chunk = upstream.recv(65536)
            if not chunk:
                return False
            data += chunk
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        need = size + 2  # the chunk and its CRLF (for the last chunk: the CRLF ending the trailers)
        while len(data) < need:
            chunk = upstream.recv(65536)
            if not chunk:
                return False
            data += chunk
        client.sendall(size_line + b"\r\n" + data[:need])
        data = data[need:]
        if size == 0:
            return True
