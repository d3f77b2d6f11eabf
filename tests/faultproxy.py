"""A fault-injecting HTTP reverse proxy on loopback, for network-fault tests.

It forwards every request (method, path, headers, body, Range) to a real upstream server (the
local STAC API and COG server) and rewrites the upstream's base URL in JSON answers to its own,
so that asset links lead back through it. Faults are planned per request path:

- ``status``: answer ``code`` instead of forwarding (e.g. a burst of 503s);
- ``slow``: wait ``delay`` seconds, then forward;
- ``cut``: send the headers and half the body, then close the connection (a drop mid-body);
- ``truncate``: forward, but cut the upstream file at ``size`` bytes (a truncated COG): ranges
  past the end are answered 416, ranges across it short.

Each fault applies to the first ``times`` matching requests (``None``: all of them).
"""

from __future__ import annotations

import contextlib
import http.client
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Fault:
    """One planned fault: ``kind`` on requests whose path matches ``pattern``."""

    kind: str
    pattern: str
    times: int | None = 1
    code: int = 503
    delay: float = 0.0
    size: int = 0
    hits: int = 0

    def take(self, path: str) -> bool:
        if not re.search(self.pattern, path):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class Proxy:
    """A running proxy: ``url`` replaces ``upstream`` (scheme://host:port)."""

    url: str
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, *faults: Fault) -> None:
        with self.lock:
            self.faults[:] = list(faults)
            self.log.clear()

    def _take(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.take(path):
                    return fault
        return None


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    up = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _forward(self) -> None:
            fault = proxy._take(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if fault is not None and fault.kind == "status":
                self._send(fault.code, b'{"detail": "injected fault"}', "application/json")
                return
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            headers["Host"] = up.netloc
            headers["Accept-Encoding"] = "identity"
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            try:
                if fault is not None and fault.kind == "truncate":
                    self._truncated(conn, headers, fault.size)
                    return
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                ctype = resp.getheader("Content-Type", "")
                if "json" in ctype:
                    data = data.replace(proxy.upstream.encode(), proxy.url.encode())
                if fault is not None and fault.kind == "cut":
                    proxy.log.append((self.command, self.path, -1))
                    self.send_response(resp.status)
                    self._copy_headers(resp, len(data))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                proxy.log.append((self.command, self.path, resp.status))  # before the client
                self.send_response(resp.status)                           # can see the answer
                self._copy_headers(resp, len(data))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                conn.close()

        def _truncated(self, conn: http.client.HTTPConnection, headers: dict, size: int) -> None:
            # The file as if it ended at `size` bytes.
            rng = self.headers.get("Range")
            headers.pop("Range", None)
            headers.pop("range", None)
            conn.request("GET", self.path, headers=headers)
            resp = conn.getresponse()
            data = resp.read()[:size]
            if rng:
                m = re.match(r"bytes=(\d+)-(\d*)", rng)
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else len(data) - 1
                if start >= len(data):
                    proxy.log.append((self.command, self.path, 416))
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                end = min(end, len(data) - 1)
                part = data[start : end + 1]
                proxy.log.append((self.command, self.path, 206))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.send_header("Content-Length", str(len(part)))
                self.send_header("Content-Type", "image/tiff")
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                self.wfile.write(part)
                return
            self._send(200, data, "image/tiff")

        def _copy_headers(self, resp: http.client.HTTPResponse, length: int) -> None:
            for k, v in resp.getheaders():
                if k.lower() == "location":
                    v = v.replace(proxy.upstream, proxy.url)
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            if self.command == "HEAD":  # no body: keep the upstream's length of the file
                length = int(resp.getheader("Content-Length") or 0)
            self.send_header("Content-Length", str(length))

        def _send(self, code: int, data: bytes, ctype: str) -> None:
            proxy.log.append((self.command, self.path, code))
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_HEAD = _forward

    return Handler


HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-encoding",
}


@contextlib.contextmanager
def fault_proxy(upstream: str) -> Iterator[Proxy]:
    """Run a proxy for ``upstream`` (``http://127.0.0.1:PORT``) on a free loopback port."""
    proxy = Proxy(url="", upstream=upstream.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
