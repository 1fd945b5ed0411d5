"""A local fake of HubSpot's CRM v3 + OAuth endpoints speaking the documented wire format.

Runs `http.server` in a thread on 127.0.0.1 and a free port. Knobs: `rate_limit_next`
(answer the next N API calls with 429 + Retry-After), `expire_token()` (the current
access token starts answering 401 EXPIRED_AUTHENTICATION until refreshed), `token_errors`
(statuses the next calls to /oauth/v1/token answer with, e.g. [503]), `token_info_errors` (the same for
the token information endpoint), `note_errors` (the same for note creation), `before_note` and
`before_create` (called in the server thread before each note is created / each contact batch create: a test
holds a sync inside its HubSpot call with them), `refuse_note` (a note body it returns True for is refused every
time with HubSpot's 400 VALIDATION_ERROR answer).

Contacts are deduplicated on email as HubSpot does: a batch create naming an email that exists (or twice)
answers 409 CONFLICT "Contact already exists. Existing ID: …" for the whole batch; `batch/read` with
`idProperty: email` finds contacts by email and answers 207 with OBJECT_NOT_FOUND for the unknown ones.

OAuth (authorization code), as HubSpot documents it:
  GET  /oauth/authorize?client_id&redirect_uri&scope&state → 302 to redirect_uri?code=…&state=…
       (the consent screen is skipped; with `deny_next` set: ?error=access_denied&error_description=…)
  POST /oauth/v1/token grant_type=authorization_code: client_id, client_secret, redirect_uri (the one the
       code was issued for) and an unused code, else 400 BAD_AUTH_CODE / BAD_CLIENT_ID / BAD_REDIRECT_URI
  GET  /oauth/v1/access-tokens/{token} → hub_id, hub_domain, user, scopes, … (404 for an unknown token)
  DELETE /oauth/v1/refresh-tokens/{token} → 204 (the refresh token stops working), 404 if unknown
Tests play the browser: `authorize(url)` follows the authorize URL and returns where HubSpot sends it.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeHubSpot:
    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self.ids = itertools.count(1001)
        self.access_token = "at-1"
        self.refresh_token = "rt-1"
        self.client_id = "app"
        self.client_secret = "secret"
        self.rate_limit_next = 0
        self.token_errors: list[int] = []
        self.token_info_errors: list[int] = []
        self.note_errors: list[int] = []
        self.before_note: Callable[[], None] | None = None
        self.before_create: Callable[[], None] | None = None
        self.refuse_note: Callable[[dict[str, Any]], bool] | None = None
        self.created_batches = 0
        self.deny_next = False
        self.codes: dict[str, dict[str, Any]] = {}  # code → {"redirect_uri", "scopes", "used"}
        self.revoked: list[str] = []
        self.hub_id = 4242
        self.hub_domain = "acme-air-test.hubspot.com"
        self.user_email = "owner@acme.example"
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

    def contact_by_email(self, email: str) -> str | None:
        """The id of the contact with this email (HubSpot's unique contact property), if any."""
        email = email.lower()
        return next(
            (cid for cid, c in self.contacts.items() if (c["properties"].get("email") or "").lower() == email), None
        )

    def edit_contact(self, cid: str, **props: str) -> None:
        now = _now()
        c = self.contacts[cid]
        c["properties"].update(props, lastmodifieddate=now)
        c["updatedAt"] = now

    def authorize(self, url: str) -> str:
        """Play the browser on HubSpot's authorize URL: the Location it redirects to (the callback)."""
        r = httpx.get(url, follow_redirects=False, timeout=5)
        assert r.status_code == 302, r.text
        return r.headers["Location"]

    def _issue_tokens(self) -> dict[str, Any]:
        n = next(self.ids)
        self.access_token = f"at-{n}-{secrets.token_hex(6)}"
        self.refresh_token = f"rt-{n}-{secrets.token_hex(6)}"
        return {
            "token_type": "bearer",
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": 1800,
        }

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

            def _batch_read(self, body: dict[str, Any]) -> None:
                """Batch read by id or by a unique property (`idProperty`); unknown ones: 207 OBJECT_NOT_FOUND."""
                by = body.get("idProperty") or "hs_object_id"
                found, missing = [], []
                for inp in body.get("inputs", []):
                    key = str(inp["id"])
                    cid = fake.contact_by_email(key) if by == "email" else (key if key in fake.contacts else None)
                    if cid is None:
                        missing.append(key)
                    else:
                        row = fake.contacts[cid]
                        props = body.get("properties")
                        found.append(
                            {
                                **row,
                                "properties": {k: v for k, v in row["properties"].items() if not props or k in props},
                            }
                        )
                out: dict[str, Any] = {
                    "status": "COMPLETE",
                    "results": found,
                    "startedAt": _now(),
                    "completedAt": _now(),
                }
                if not missing:
                    return self._send(200, out)
                out["numErrors"] = 1
                out["errors"] = [
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "Could not get some CONTACT objects, they may be deleted or not exist. "
                        "Check that ids are valid.",
                        "context": {"ids": missing},
                    }
                ]
                return self._send(207, out)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                fake.log.append((self.command, self.path, 302))

            def _authorize(self, q: dict[str, list[str]]) -> None:
                one = {k: v[0] for k, v in q.items()}
                if one.get("client_id") != fake.client_id or not one.get("redirect_uri") or not one.get("scope"):
                    return self._send(400, {"status": "error", "message": "invalid client_id, redirect_uri or scope"})
                back: dict[str, str] = {}
                if fake.deny_next:
                    fake.deny_next = False
                    back = {"error": "access_denied", "error_description": "The user denied access"}
                else:
                    code = secrets.token_urlsafe(12)
                    fake.codes[code] = {
                        "redirect_uri": one["redirect_uri"],
                        "scopes": one["scope"].split(" "),
                        "used": False,
                    }
                    back = {"code": code}
                if "state" in one:
                    back["state"] = one["state"]
                sep = "&" if "?" in one["redirect_uri"] else "?"
                return self._redirect(one["redirect_uri"] + sep + urlencode(back))

            def _token(self, form: dict[str, str]) -> None:
                with fake.lock:
                    if fake.token_errors:
                        status = fake.token_errors.pop(0)
                        return self._send(status, {"status": "error", "message": "try again"})
                    if form.get("client_id") != fake.client_id or form.get("client_secret") != fake.client_secret:
                        return self._send(400, {"status": "BAD_CLIENT_ID", "message": "missing or unknown client"})
                    grant = form.get("grant_type")
                    if grant == "authorization_code":
                        issued = fake.codes.get(form.get("code", ""))
                        if issued is None or issued["used"]:
                            return self._send(
                                400, {"status": "BAD_AUTH_CODE", "message": "missing or unknown auth code"}
                            )
                        if form.get("redirect_uri") != issued["redirect_uri"]:
                            return self._send(
                                400, {"status": "BAD_REDIRECT_URI", "message": "redirect_uri does not match"}
                            )
                        issued["used"] = True
                        return self._send(200, fake._issue_tokens())
                    if grant != "refresh_token" or form.get("refresh_token") != fake.refresh_token:
                        return self._send(
                            400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}
                        )
                    return self._send(200, fake._issue_tokens())

            def do_DELETE(self) -> None:  # noqa: N802
                u = urlparse(self.path)
                prefix = "/oauth/v1/refresh-tokens/"
                if u.path.startswith(prefix) and fake.refresh_token and u.path[len(prefix) :] == fake.refresh_token:
                    fake.revoked.append(fake.refresh_token)
                    fake.refresh_token = ""
                    self.send_response(204)
                    self.end_headers()
                    fake.log.append((self.command, self.path, 204))
                    return
                self._send(404, {"status": "error", "message": "refresh token not found"})

            def do_GET(self) -> None:  # noqa: N802
                u = urlparse(self.path)
                if u.path == "/oauth/authorize":
                    return self._authorize(parse_qs(u.query))
                if u.path.startswith("/oauth/v1/access-tokens/"):
                    if fake.token_info_errors:
                        return self._send(fake.token_info_errors.pop(0), {"status": "error", "message": "try again"})
                    if u.path.rsplit("/", 1)[1] != fake.access_token:
                        return self._send(404, {"status": "error", "message": "access token not found"})
                    return self._send(
                        200,
                        {
                            "token": fake.access_token,
                            "user": fake.user_email,
                            "hub_domain": fake.hub_domain,
                            "scopes": ["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write"],
                            "hub_id": fake.hub_id,
                            "app_id": 77,
                            "expires_in": 1700,
                            "user_id": 9,
                            "token_type": "access",
                        },
                    )
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
                    if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                        return self._send(400, {"status": "error", "message": "expected a form-encoded body"})
                    return self._token({k: v[0] for k, v in parse_qs(raw.decode()).items()})
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
                if u.path == "/crm/v3/objects/contacts/batch/read":
                    return self._batch_read(body)
                if u.path == "/crm/v3/objects/contacts/batch/create":
                    if fake.before_create is not None:
                        fake.before_create()
                    with fake.lock:  # HubSpot deduplicates contacts on email: an existing one fails the batch
                        emails = [(inp["properties"].get("email") or "").lower() for inp in body["inputs"]]
                        for email in filter(None, emails):
                            existing = fake.contact_by_email(email)
                            if existing is not None or emails.count(email) > 1:
                                return self._send(
                                    409,
                                    {
                                        "status": "error",
                                        "message": f"Contact already exists. Existing ID: {existing or ''}",
                                        "category": "CONFLICT",
                                    },
                                )
                        results = []
                        for inp in body["inputs"]:
                            cid = fake.add_contact(**{k: v for k, v in inp["properties"].items() if v})
                            results.append(fake.contacts[cid])
                    fake.created_batches += 1
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
                    if fake.before_note is not None:
                        fake.before_note()
                    if fake.note_errors:
                        return self._send(fake.note_errors.pop(0), {"status": "error", "message": "note refused"})
                    if fake.refuse_note is not None and fake.refuse_note(body):
                        return self._send(
                            400,
                            {
                                "status": "error",
                                "message": 'Property values were not valid: [{"isValid":false,"message":"hs_note_body '
                                'is not valid","error":"INVALID_STRING","name":"hs_note_body"}]',
                                "correlationId": "4f1b2c3d-0000-4000-8000-000000000000",
                                "category": "VALIDATION_ERROR",
                            },
                        )
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
