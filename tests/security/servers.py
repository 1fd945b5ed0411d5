"""Local HTTP listeners that count every request they receive, for the outbound-request (SSRF) tests.

A listener stands for a target an attacker wants to reach (an admin page on localhost, a metadata service) or
for a legitimate receiver. Paths: `/ok`, `/redirect?to=URL`, `/big?n=BYTES` (declared length), `/drip?n=BYTES`
(no declared length), `/slow` (answers only once the test releases it),
`/status?code=N` (that status, with a body that must never be shown). Plain functions, so the SSRF cases can
run outside pytest (benchmarks/security.py).
"""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: int
    hosts: list[str]
    release: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read the counters, not the log."""

    def _answer(self) -> None:
        self.server.hits += 1
        self.server.hosts.append(self.headers.get("Host", ""))
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path in ("/big", "/drip"):
            self._body(int(query.get("n", "0")), declared=url.path == "/big")
        elif url.path == "/status":
            self.send_response(int(query["code"]))
            self.send_header("Content-Length", "36")
            self.end_headers()
            self.wfile.write(b"internal secret: db password hunter2")
        elif url.path == "/slow":
            self.server.release.wait()
            self._body(2, declared=True)
        else:
            self._body(2, declared=True)

    def _body(self, size: int, declared: bool) -> None:
        self.send_response(200)
        if declared:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < size:
                part = chunk[: size - sent]
                self.wfile.write(part)
                sent += len(part)
        except OSError:
            pass  # the client stopped reading at its limit

    do_GET = _answer
    do_POST = _answer


class CountingServer:
    """An HTTP(S) listener on a loopback address that counts hits; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None, port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("_FamilyServer", (_Server,), {"address_family": family})
        self._server = server_class((host, port), _Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._server.hits = 0
        self._server.hosts = []
        self._server.release = threading.Event()
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def hits(self) -> int:
        return self._server.hits

    @property
    def hosts(self) -> list[str]:
        return self._server.hosts

    @property
    def hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def url(self, path: str = "/ok", scheme: str = "http") -> str:
        return f"{scheme}://{self.hostport}{path}"

    def close(self) -> None:
        self._server.release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> CountingServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False
