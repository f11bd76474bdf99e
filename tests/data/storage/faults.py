"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the local S3 server.

Requests pass through unchanged (the client's ``Host`` header kept, so request signatures stay
valid) unless a planned :class:`Fault` matches: ``delay`` holds the response back for
``seconds`` (a slow server: the client's timeout fires first), ``error`` answers an HTTP status
(500) with an S3 error body, ``cut`` sends the status, the headers with the full
``Content-Length`` and ``keep`` bytes of the body, then closes the connection (a connection
dropped mid-object). Each fault hits the next ``times`` matching requests (``None``: all).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te"}
_ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>injected fault</Message></Error>"
)


@dataclass
class Fault:
    kind: Literal["delay", "error", "cut"]
    #: A substring of the request's path (``shard-000001``); "" matches every request.
    match: str = ""
    times: int | None = 1
    method: str = "GET"
    seconds: float = 2.0
    status: int = 500
    keep: int = 100
    hits: int = field(default=0, init=False)

    def matches(self, method: str, path: str) -> bool:
        return (
            method == self.method
            and self.match in path
            and (self.times is None or self.hits < self.times)
        )


class FaultProxy:
    """``start()``, ``inject(Fault(...))``, ``url``; ``log`` lists (method, path, fault kind)."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *args: None  # a client gone mid-response is planned
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.log.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    self.log.append((method, path, fault.kind))
                    return fault
            self.log.append((method, path, "ok"))
            return None

    def hits(self, kind: str) -> int:
        with self.lock:
            return sum(1 for _, _, k in self.log if k == kind)


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive, as S3 clients expect

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = self.owner.take(self.command, self.path)
        if fault is not None and fault.kind == "error":
            self._send(fault.status, {"Content-Type": "application/xml"}, _ERROR_BODY)
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        status, headers, data = self._upstream(body)
        if fault is not None and fault.kind == "cut" and len(data) > fault.keep:
            self._send(status, headers, data[: fault.keep], length=len(data))
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self._send(status, headers, data)

    def _upstream(self, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(*self.owner.upstream, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP}
            return response.status, kept, data
        finally:
            connection.close()

    def _send(
        self, status: int, headers: dict[str, str], data: bytes, length: int | None = None
    ) -> None:
        self.send_response_only(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        if self.command == "HEAD":  # HEAD: the object's length, no body
            self.send_header("Content-Length", headers.get("Content-Length", "0"))
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(data) if length is None else length))
        self.end_headers()
        self.wfile.write(data)
