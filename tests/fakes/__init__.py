"""Local fakes of the networks Hubbub talks to, each a small stdlib HTTP server on 127.0.0.1.

They speak the network's documented wire format (field names of the public API references), so the real
client code runs unchanged against them with only its base URL pointed at loopback. Tests and
`benchmarks/channels.py` share them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode

from hubbub.connectors.sandbox.loopback import LoopbackServer


class FakeServer(LoopbackServer):
    """A loopback fake of a network; `latency` (seconds) is added to every answer, to play a distant network in
    benchmarks, and `requests` records (method, path) of every request, in order."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        super().__init__()


def back_to(redirect_uri: str, **params: str) -> str:
    """The client's redirect URI with the authorization's answer (`code` and `state`, or `error`) added."""
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(params)}"


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2), computed here independently of Hubbub's code."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class FakeHandler(BaseHTTPRequestHandler):
    """Shared plumbing: JSON bodies, the fake's latency, quiet logs."""

    fake: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def wait(self) -> None:
        if self.fake.latency:
            time.sleep(self.fake.latency)

    def read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        data = json.loads(self.rfile.read(length))
        return data if isinstance(data, dict) else {}

    def read_form(self) -> dict[str, str]:
        """An `application/x-www-form-urlencoded` body (OAuth token requests), one value a name."""
        length = int(self.headers.get("Content-Length") or 0)
        return {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()} if length else {}

    def redirect(self, location: str) -> None:
        """A 302 to `location`, as a consent page sends the browser back once the user said yes (or no)."""
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def send_body(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(data).encode(), "application/json; charset=utf-8", headers)
