"""A stdlib HTTP server on a free 127.0.0.1 port, served from a daemon thread.

Why one base: the demo's Mastodon sandbox and the tests' fakes of X, Meta, Bluesky and feeds all need the same
start / stop / context-manager plumbing around `ThreadingHTTPServer`; each fake adds only its handler and state.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    """`start()` serves on 127.0.0.1 (`port` 0 picks a free one), `stop()` closes the socket. The handler class
    gets a `fake` attribute pointing back at this server, so request handlers reach the fake's state."""

    handler_class: type[BaseHTTPRequestHandler]
    thread_name = "loopback-fake"

    def __init__(self, port: int = 0) -> None:
        handler = type("Handler", (self.handler_class,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=self.thread_name, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
