"""A fake web site serving RSS and Atom feeds the way real servers do: an `ETag` and a `Last-Modified` on every
document, `304 Not Modified` when the reader's `If-None-Match` or `If-Modified-Since` still matches, and a
chosen status (503 with `Retry-After`, 410…) on demand."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from tests.fakes import FakeHandler, FakeServer

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"
CONTENT_TYPES = {".rss": "application/rss+xml; charset=UTF-8", ".atom": "application/atom+xml; charset=utf-8"}


@dataclass
class Document:
    body: bytes
    content_type: str
    modified: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 8, 30, tzinfo=UTC))

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class FakeFeedSite(FakeServer):
    def __init__(self, latency: float = 0.0) -> None:
        self.handler_class = _Handler
        super().__init__(latency)
        self.documents: dict[str, Document] = {}
        self.statuses: dict[str, tuple[int, dict[str, str]]] = {}  # path -> a status to answer instead
        self.not_modified = 0  # how many 304s were answered

    def serve(self, path: str, body: bytes, content_type: str = "application/rss+xml; charset=UTF-8") -> str:
        """Serve `body` at `path` (a new version of a document gets a new ETag and Last-Modified); its URL."""
        old = self.documents.get(path)
        modified = datetime.now(UTC).replace(microsecond=0) if old else Document(b"", "").modified
        self.documents[path] = Document(body, content_type, modified)
        return self.url + path

    def serve_file(self, path: str, name: str) -> str:
        return self.serve(path, (FEEDS / name).read_bytes(), CONTENT_TYPES[Path(name).suffix])


class _Handler(FakeHandler):
    fake: FakeFeedSite

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.wait()
        self.fake.requests.append(("GET", self.path))
        path = urlsplit(self.path).path  # a query string (a private feed's token) does not change the document
        if path in self.fake.statuses:
            status, headers = self.fake.statuses[path]
            self.send_body(status, b"<html><body>Service unavailable</body></html>", "text/html", headers)
            return
        doc = self.fake.documents.get(path)
        if doc is None:
            self.send_body(404, b"<html><body>Not found</body></html>", "text/html")
            return
        validators = {"ETag": doc.etag, "Last-Modified": format_datetime(doc.modified, usegmt=True)}
        if self._unchanged(doc):
            self.fake.not_modified += 1
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_body(200, doc.body, doc.content_type, validators)

    def _unchanged(self, doc: Document) -> bool:
        """RFC 9110 § 13.1: If-None-Match decides when present; If-Modified-Since only without it."""
        match = self.headers.get("If-None-Match")
        if match is not None:
            return doc.etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return doc.modified <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False
