"""A fault-injecting HTTP reverse proxy on loopback, for network-fault tests.

It forwards every request (method, path, headers, body, Range) to a real upstream server (the
local STAC API and COG server) and rewrites the upstream's base URL in JSON answers to its own,
so that asset links lead back through it. Faults are planned per request path:

- ``status``: answer ``code`` instead of forwarding (e.g. a burst of 503s);
- ``slow``: wait ``delay`` seconds, then forward;
- ``cut``: send the headers and half the body, then close the connection (a drop mid-body);
- ``truncate``: forward, but cut the upstream file at ``size`` bytes (a truncated COG): ranges
  past the end are answered 416, ranges across it short;
- ``sas``: storage behind SAS tokens, like Azure Blob Storage: a request without a valid,
  unexpired token (``?st=...&se=...&sig=...``) gets Azure's 403 ``AuthenticationFailed``.

Tokens come from a token service shaped like Planetary Computer's
(``GET /api/sas/v1/token/{account}/{container}`` -> ``{"msft:expiry": ..., "token": ...}``). Each
token really expires ``sas_lifetime`` seconds after it was issued, but its ``msft:expiry`` claims
an hour, so a client that trusts the claim keeps using it: the case of a token that expires
between the search and the read, or while a lazy load waits to be computed.

Each fault applies to the first ``times`` matching requests (``None``: all of them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


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
    sas_lifetime: float = 3600.0
    tokens_issued: int = 0
    secret: bytes = b"loopback-only test key"

    @property
    def token_service(self) -> str:
        """The URL to give ``planetary_computer`` as ``sas_url``."""
        return f"{self.url}/api/sas/v1/token"

    def issue_token(self) -> dict[str, str]:
        now = dt.datetime.now(dt.UTC)
        st = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        se = (now + dt.timedelta(seconds=self.sas_lifetime)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        sig = hmac.new(self.secret, f"{st}|{se}".encode(), hashlib.sha256).hexdigest()[:32]
        with self.lock:
            self.tokens_issued += 1
        claimed = (now + dt.timedelta(hours=1)).isoformat()
        token = f"st={st}&se={se}&sp=rl&sv=2024-05-04&sr=c&sig={sig}"
        return {"msft:expiry": claimed, "token": token}

    def token_valid(self, query: str) -> bool:
        q = {k: v[0] for k, v in parse_qs(query).items()}
        if not {"st", "se", "sig"} <= set(q):
            return False
        good = hmac.new(self.secret, f"{q['st']}|{q['se']}".encode(), hashlib.sha256).hexdigest()
        expiry = dt.datetime.strptime(q["se"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        return hmac.compare_digest(good[:32], q["sig"]) and expiry > dt.datetime.now(dt.UTC)

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
            if self.path.startswith("/api/sas/v1/token/") and fault is None:
                self._send(200, json.dumps(proxy.issue_token()).encode(), "application/json")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if fault is not None and fault.kind == "status":
                self._send(fault.code, b'{"detail": "injected fault"}', "application/json")
                return
            if (
                fault is not None
                and fault.kind == "sas"
                and not proxy.token_valid(urlsplit(self.path).query)
            ):
                self._send(403, AZURE_403, "application/xml")
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
                self.send_response(resp.status)  # can see the answer
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
            if self.command != "HEAD":  # a body after HEAD would corrupt the kept-alive stream
                self.wfile.write(data)

        def _answer(self) -> None:
            try:
                self._forward()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                self.close_connection = True

        do_GET = do_POST = do_HEAD = _answer

    return Handler


AZURE_403 = (
    b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>'
    b"Server failed to authenticate the request. Make sure the value of Authorization header is "
    b"formed correctly including the signature. Signed expiry time must be after the current "
    b"time.</Message></Error>"
)

HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-encoding",
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


def sample_signer(url: str, refresh: bool = False) -> str:
    """Sign the sample's COG links as Planetary Computer's blob links are signed (same code).

    Importable by reference (``tests.faultproxy.sample_signer``), so that dask pickles it to
    worker processes whose ``PYTHONPATH`` holds the repository."""
    from lakeml import signing

    return signing.sign_with_token_service(url, "sample", "cogs", refresh)
