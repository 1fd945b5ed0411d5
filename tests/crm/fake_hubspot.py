"""A local fake of HubSpot's CRM v3 + OAuth endpoints speaking the documented wire format.

Runs `http.server` in a thread on 127.0.0.1 and a free port. Knobs: `rate_limit_next`
(answer the next N API calls with 429 + Retry-After) and `expire_token()` (the current
access token starts answering 401 EXPIRED_AUTHENTICATION until refreshed).
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeHubSpot:
    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self.ids = itertools.count(1001)
        self.access_token = "at-1"
        self.refresh_token = "rt-1"
        self.client_secret = "secret"
        self.rate_limit_next = 0
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHubSpot:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_contact(self, **props: str) -> str:
        cid = str(next(self.ids))
        now = _now()
        props.setdefault("lastmodifieddate", now)
        self.contacts[cid] = {"id": cid, "properties": props, "createdAt": now, "updatedAt": now, "archived": False}
        return cid

    def edit_contact(self, cid: str, **props: str) -> None:
        now = _now()
        c = self.contacts[cid]
        c["properties"].update(props, lastmodifieddate=now)
        c["updatedAt"] = now

    def expire_token(self) -> None:
        self.access_token = self.access_token + "-expired-" + str(next(self.ids))
        self._expired = True

    # ------------------------------------------------------------------ HTTP

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                fake.log.append((self.command, self.path, status))

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _guard(self) -> bool:
                with fake.lock:
                    if fake.rate_limit_next > 0:
                        fake.rate_limit_next -= 1
                        self._send(
                            429,
                            {
                                "status": "error",
                                "message": "You have reached your secondly limit.",
                                "errorType": "RATE_LIMIT",
                                "policyName": "SECONDLY",
                            },
                            {"Retry-After": "1", "X-HubSpot-RateLimit-Remaining": "0"},
                        )
                        return False
                auth = self.headers.get("Authorization", "")
                if auth != f"Bearer {fake.access_token}":
                    self._send(
                        401,
                        {
                            "status": "error",
                            "message": "The OAuth token used to make this call expired.",
                            "category": "EXPIRED_AUTHENTICATION",
                        },
                    )
                    return False
                return True

            def _page(self, rows: list[dict[str, Any]], after: str | None, limit: int, props: list[str] | None):  # type: ignore[no-untyped-def]
                start = int(after or 0)
                chunk = rows[start : start + limit]
                out: dict[str, Any] = {
                    "results": [
                        {**r, "properties": {k: v for k, v in r["properties"].items() if not props or k in props}}
                        for r in chunk
                    ]
                }
                if start + limit < len(rows):
                    nxt = str(start + limit)
                    out["paging"] = {"next": {"after": nxt, "link": f"{fake.url}/crm/v3/objects/contacts?after={nxt}"}}
                return out

            def do_GET(self) -> None:  # noqa: N802
                u = urlparse(self.path)
                if u.path != "/crm/v3/objects/contacts":
                    return self._send(404, {"status": "error", "message": "not found"})
                if not self._guard():
                    return
                q = parse_qs(u.query)
                limit = min(int(q.get("limit", ["10"])[0]), 100)
                props = q.get("properties", [""])[0].split(",") if q.get("properties") else None
                rows = sorted(fake.contacts.values(), key=lambda r: int(r["id"]))
                self._send(200, self._page(rows, q.get("after", [None])[0], limit, props))

            def do_POST(self) -> None:  # noqa: N802
                u = urlparse(self.path)
                raw = self._body()
                if u.path == "/oauth/v1/token":
                    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    if (
                        form.get("grant_type") != "refresh_token"
                        or form.get("refresh_token") != fake.refresh_token
                        or form.get("client_secret") != fake.client_secret
                    ):
                        return self._send(
                            400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}
                        )
                    n = next(fake.ids)
                    fake.access_token, fake.refresh_token = f"at-{n}", f"rt-{n}"
                    return self._send(
                        200,
                        {
                            "token_type": "bearer",
                            "access_token": fake.access_token,
                            "refresh_token": fake.refresh_token,
                            "expires_in": 1800,
                        },
                    )
                if not self._guard():
                    return
                body = json.loads(raw or b"{}")
                if u.path == "/crm/v3/objects/contacts/search":
                    rows = sorted(fake.contacts.values(), key=lambda r: int(r["id"]))
                    for group in body.get("filterGroups", []):
                        for f in group.get("filters", []):
                            if f["propertyName"] == "lastmodifieddate" and f["operator"] == "GTE":
                                since = int(f["value"])
                                rows = [
                                    r
                                    for r in rows
                                    if datetime.fromisoformat(r["updatedAt"].replace("Z", "+00:00")).timestamp() * 1000
                                    >= since
                                ]
                    out = self._page(
                        rows, body.get("after"), min(int(body.get("limit", 10)), 200), body.get("properties")
                    )
                    out["total"] = len(rows)
                    return self._send(200, out)
                if u.path == "/crm/v3/objects/contacts/batch/create":
                    results = []
                    for inp in body["inputs"]:
                        cid = fake.add_contact(**{k: v for k, v in inp["properties"].items() if v})
                        results.append(fake.contacts[cid])
                    return self._send(
                        201, {"status": "COMPLETE", "results": results, "startedAt": _now(), "completedAt": _now()}
                    )
                if u.path == "/crm/v3/objects/contacts/batch/update":
                    results = []
                    for inp in body["inputs"]:
                        if inp["id"] not in fake.contacts:
                            return self._send(404, {"status": "error", "message": f"contact {inp['id']} not found"})
                        fake.edit_contact(inp["id"], **inp["properties"])
                        results.append(fake.contacts[inp["id"]])
                    return self._send(200, {"status": "COMPLETE", "results": results})
                if u.path == "/crm/v3/objects/notes":
                    nid = str(next(fake.ids))
                    note = {"id": nid, "properties": body["properties"], "associations": body.get("associations", [])}
                    fake.notes.append(note)
                    return self._send(
                        201,
                        {
                            "id": nid,
                            "properties": body["properties"],
                            "createdAt": _now(),
                            "updatedAt": _now(),
                            "archived": False,
                        },
                    )
                return self._send(404, {"status": "error", "message": "not found"})

        return Handler
