"""A small Mastodon server on loopback: the REST endpoints Hubbub's connector (through Mastodon.py) calls, with
the field names of the Mastodon API reference, plus a web page where a person posts as a customer.

Endpoints: `GET /api/v1/instance` and `/api/v2/instance`, `GET /api/v1/accounts/verify_credentials`,
`GET /api/v1/notifications` (`types[]`, `since_id`, `min_id`, `max_id`, `limit`, and the `Link` header),
`POST /api/v1/statuses` (form or JSON; `Idempotency-Key` answered with the status first made under it, per
account, as Mastodon does for an hour), `GET /api/v1/statuses/:id`, `GET /api/v1/accounts/:id/statuses`.
Every API answer carries `X-RateLimit-Limit/Remaining/Reset` (reset as an ISO 8601 time, as Mastodon sends);
`limit_rate()` makes the API answer 429 until the reset, `revoke()` makes a token answer 401.

Why it is shipped rather than kept with the tests: `hubbub demo` runs it, so a person can post as a customer
on `/` and watch the mention reach the inbox, and the agent's reply come back threaded under it.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hubbub.connectors.sandbox import mastodon_oauth, mastodon_page
from hubbub.connectors.sandbox.loopback import LoopbackServer

RATE_LIMIT = 300
RATE_WINDOW = timedelta(minutes=5)  # Mastodon's: 300 requests per account per 5 minutes
MAX_PAGE = 80
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]+)(?:@([A-Za-z0-9.\-:]+))?")


@dataclass
class Account:
    id: str
    username: str
    display_name: str
    followers_count: int = 0
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Status:
    id: str
    account: Account
    text: str
    created_at: datetime
    visibility: str = "public"
    in_reply_to: Status | None = None
    mentions: list[Account] = field(default_factory=list)


@dataclass
class Notification:
    id: str
    type: str
    account: Account  # who caused it
    status: Status
    created_at: datetime


class MastodonState:
    """Accounts, statuses and notifications in memory; every method takes the lock."""

    def __init__(self, base_url: str = "") -> None:
        self.base_url = base_url
        self.lock = threading.RLock()
        # Snowflake-like ids, as Mastodon makes them (milliseconds << 16): a new server never reuses an id an
        # earlier run handed out, so ingest's idempotency never mistakes a new post for an old one.
        self._ids = itertools.count(int(time.time() * 1000) << 16)
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, str] = {}  # access token -> account id
        self.statuses: dict[str, Status] = {}
        self.notifications: dict[str, list[Notification]] = {}  # account id -> newest last
        self.idempotency: dict[tuple[str, str], str] = {}  # (account id, key) -> status id
        self.window_reset = datetime.now(UTC) + RATE_WINDOW
        self.remaining = RATE_LIMIT
        self.requests: list[tuple[str, str]] = []  # (method, path) of every API request
        self.apps: dict[str, mastodon_oauth.App] = {}  # client id -> registered application
        self.grants: dict[str, mastodon_oauth.Grant] = {}  # authorization code -> what it grants

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_account(self, username: str, display_name: str = "", token: str | None = None) -> Account:
        with self.lock:
            account = self.account_named(username)
            if account is None:
                account = Account(self.next_id(), username, display_name or username)
                self.accounts[account.id] = account
            if token:
                self.tokens[token] = account.id
            return account

    def account_named(self, username: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.username.lower() == username.lower()), None)

    def revoke(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    def limit_rate(self, seconds: float) -> None:
        """The budget is used up: the API answers 429 until `seconds` from now (negative: the window is over)."""
        with self.lock:
            self.window_reset = datetime.now(UTC) + timedelta(seconds=seconds)
            self.remaining = 0

    def spend(self) -> bool:
        """Count one request against the budget; False when none is left. A new window refills it."""
        now = datetime.now(UTC)
        if now >= self.window_reset:
            self.remaining, self.window_reset = RATE_LIMIT, now + RATE_WINDOW
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True

    def post(
        self,
        account: Account,
        text: str,
        in_reply_to_id: str | None = None,
        visibility: str = "public",
        idempotency_key: str | None = None,
    ) -> Status:
        with self.lock:
            if idempotency_key and (account.id, idempotency_key) in self.idempotency:
                return self.statuses[self.idempotency[(account.id, idempotency_key)]]
            parent = self.statuses.get(in_reply_to_id or "")
            if in_reply_to_id and parent is None:
                raise LookupError("Record not found")
            status = Status(self.next_id(), account, text, datetime.now(UTC), visibility, parent)
            status.mentions = self._mentioned(text)
            self.statuses[status.id] = status
            if idempotency_key:
                self.idempotency[(account.id, idempotency_key)] = status.id
            for mentioned in status.mentions:
                if mentioned.id != account.id:
                    note = Notification(self.next_id(), "mention", account, status, status.created_at)
                    self.notifications.setdefault(mentioned.id, []).append(note)
            return status

    def post_as(
        self, username: str, text: str, in_reply_to_id: str | None = None, visibility: str = "public"
    ) -> Status:
        """A customer posts (the sandbox page, tests): their account is made on first use."""
        return self.post(self.add_account(username), text, in_reply_to_id or None, visibility)

    def _mentioned(self, text: str) -> list[Account]:
        host = urlsplit(self.base_url).netloc
        found: list[Account] = []
        for match in _MENTION.finditer(text):
            account = self.account_named(match.group(1))
            if account is not None and match.group(2) in (None, host) and account not in found:
                found.append(account)
        return found

    def thread_roots(self) -> list[Status]:
        with self.lock:
            return sorted((s for s in self.statuses.values() if s.in_reply_to is None), key=_id_key, reverse=True)

    def replies_to(self, status: Status) -> list[Status]:
        with self.lock:
            return sorted((s for s in self.statuses.values() if s.in_reply_to is status), key=_id_key)

    def posts_by(self, username: str) -> list[Status]:
        with self.lock:
            return [s for s in self.statuses.values() if s.account.username == username]


def _id_key(item: Status | Notification) -> int:
    return int(item.id)


def _page(items: list[Any], params: dict[str, str]) -> list[Any]:
    """Mastodon's id paging: newest first; `min_id` gives the page right after it (to walk forward without
    gaps), `since_id` the newest page after it, `max_id` the page before it."""
    limit = min(int(params.get("limit") or 20), MAX_PAGE)
    ordered = sorted(items, key=_id_key)
    if params.get("max_id"):
        ordered = [i for i in ordered if int(i.id) < int(params["max_id"])]
    if params.get("since_id"):
        ordered = [i for i in ordered if int(i.id) > int(params["since_id"])]
    if params.get("min_id"):
        ordered = [i for i in ordered if int(i.id) > int(params["min_id"])][:limit]
    return list(reversed(ordered[-limit:]))


class MastodonJson:
    """The API's JSON entities (Account, Status, Notification), as documented."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url

    def account(self, a: Account) -> dict[str, Any]:
        return {
            "id": a.id,
            "username": a.username,
            "acct": a.username,
            "display_name": a.display_name,
            "locked": False,
            "bot": False,
            "created_at": a.created_at.isoformat().replace("+00:00", "Z"),
            "note": "",
            "url": f"{self.base}/@{a.username}",
            "avatar": f"{self.base}/avatars/original/missing.png",
            "avatar_static": f"{self.base}/avatars/original/missing.png",
            "header": "",
            "header_static": "",
            "followers_count": a.followers_count,
            "following_count": 0,
            "statuses_count": 0,
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }

    def content(self, s: Status) -> str:
        """The text as Mastodon renders it: a paragraph, mentions as h-card links, everything else escaped."""
        parts, last = [], 0
        for match in _MENTION.finditer(s.text):
            parts.append(html.escape(s.text[last : match.start()]))
            user = match.group(1)
            parts.append(
                f'<span class="h-card"><a href="{self.base}/@{html.escape(user)}" class="u-url mention">'
                f"@<span>{html.escape(user)}</span></a></span>"
            )
            last = match.end()
        parts.append(html.escape(s.text[last:]))
        return "<p>" + "".join(parts).replace("\n", "<br />") + "</p>"

    def status(self, s: Status) -> dict[str, Any]:
        return {
            "id": s.id,
            "created_at": s.created_at.isoformat().replace("+00:00", "Z"),
            "in_reply_to_id": s.in_reply_to.id if s.in_reply_to else None,
            "in_reply_to_account_id": s.in_reply_to.account.id if s.in_reply_to else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": s.visibility,
            "language": "en",
            "uri": f"{self.base}/users/{s.account.username}/statuses/{s.id}",
            "url": f"{self.base}/@{s.account.username}/{s.id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": self.content(s),
            "reblog": None,
            "application": None,
            "account": self.account(s.account),
            "media_attachments": [],
            "mentions": [
                {"id": m.id, "username": m.username, "acct": m.username, "url": f"{self.base}/@{m.username}"}
                for m in s.mentions
            ],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def notification(self, n: Notification) -> dict[str, Any]:
        return {
            "id": n.id,
            "type": n.type,
            "created_at": n.created_at.isoformat().replace("+00:00", "Z"),
            "account": self.account(n.account),
            "status": self.status(n.status),
        }


class MastodonFake(LoopbackServer):
    """The server: `start()` on a free loopback port (or `port`), `stop()`; `state` holds what it knows."""

    thread_name = "mastodon-sandbox"

    def __init__(self, port: int = 0, brand_username: str = "brand") -> None:
        super().__init__(port)
        self.state = MastodonState(self.url)
        self.json = MastodonJson(self.url)
        self.brand_username = brand_username


class MastodonHandler(BaseHTTPRequestHandler):
    fake: MastodonFake
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        path, params = self._parsed()
        if path == "/oauth/authorize":
            status, page = mastodon_oauth.authorize_page(self.fake, params)
            self._send(status, page.encode(), "text/html; charset=utf-8")
            return
        if not path.startswith("/api/"):
            self._send(200, mastodon_page.render(self.fake).encode(), "text/html; charset=utf-8")
            return
        self._api("GET", path, params)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        path, _ = self._parsed()
        body = self._body()
        if path == "/sandbox/post":
            mastodon_page.handle_post(self.fake, body)
            self._send(303, b"", "text/plain", {"Location": "/"})
        elif path == "/oauth/authorize":
            back = mastodon_oauth.approve(self.fake, body)
            self._send(302 if back else 400, b"", "text/plain", {"Location": back} if back else None)
        elif path in ("/api/v1/apps", "/oauth/token"):
            with self.fake.state.lock:
                answer = mastodon_oauth.register_app if path == "/api/v1/apps" else mastodon_oauth.token
                self._json(*answer(self.fake, body))
        else:
            self._api("POST", path, body)

    def _api(self, method: str, path: str, params: dict[str, str]) -> None:
        state = self.fake.state
        with state.lock:
            state.requests.append((method, path))
            if path in ("/api/v1/instance", "/api/v2/instance"):
                self._json(200, _instance(self.fake))
                return
            if not state.spend():
                self._json(429, {"error": "Too many requests"})
                return
            account = state.accounts.get(state.tokens.get(self._token(), ""))
            if account is None:
                self._json(401, {"error": "The access token is invalid"})
                return
            status, data = MastodonRoutes(self.fake, account).route(method, path, params)
            self._json(status, data.pop("__body__") if "__body__" in data else data, data.pop("__link__", None))

    def _token(self) -> str:
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else ""

    def _parsed(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path.rstrip("/") or "/"  # Mastodon answers `/api/v1/instance/` as `/api/v1/instance`
        return path, {k: v[-1] for k, v in query.items()}

    def _body(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if "json" in self.headers.get("Content-Type", ""):
            data = json.loads(raw or "{}")
            params = {str(k): str(v) for k, v in data.items() if v is not None} if isinstance(data, dict) else {}
        else:
            params = {k: v[-1] for k, v in parse_qs(raw).items()}
        key = self.headers.get("Idempotency-Key")
        if key:
            params["__idempotency_key__"] = key
        return params

    def _json(self, status: int, data: Any, link: str | None = None) -> None:
        state = self.fake.state
        reset = state.window_reset
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(state.remaining),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if link:
            headers["Link"] = link
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


MastodonFake.handler_class = MastodonHandler


class MastodonRoutes:
    """The authenticated API endpoints, for one account. Each returns (HTTP status, JSON data)."""

    def __init__(self, fake: MastodonFake, account: Account) -> None:
        self.fake, self.state, self.account, self.json = fake, fake.state, account, fake.json

    def route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method == "GET" and path == "/api/v1/accounts/verify_credentials":
            return 200, self.json.account(self.account)
        if method == "GET" and path == "/api/v1/notifications":
            return self.notifications(params)
        if method == "POST" and path == "/api/v1/statuses":
            return self.post_status(params)
        match = re.fullmatch(r"/api/v1/statuses/(\d+)", path)
        if method == "GET" and match:
            found = self.state.statuses.get(match.group(1))
            return (200, self.json.status(found)) if found else (404, {"error": "Record not found"})
        match = re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path)
        if method == "GET" and match:
            return self.account_statuses(match.group(1), params)
        return 404, {"error": "Record not found"}

    def notifications(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        items = self.state.notifications.get(self.account.id, [])
        wanted = params.get("types[]")
        if wanted:
            items = [n for n in items if n.type == wanted]
        page = _page(items, params)
        body = [self.json.notification(n) for n in page]
        return 200, {"__body__": body, "__link__": self._link("notifications", page)}

    def account_statuses(self, account_id: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if account_id not in self.state.accounts:
            return 404, {"error": "Record not found"}
        mine = [s for s in self.state.statuses.values() if s.account.id == account_id]
        page = _page(mine, params)
        body = [self.json.status(s) for s in page]
        return 200, {"__body__": body, "__link__": self._link(f"accounts/{account_id}/statuses", page)}

    def post_status(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        text = str(params.get("status") or "").strip()
        if not text:
            return 422, {"error": "Validation failed: Text can't be blank"}
        if len(text) > 500:
            return 422, {"error": "Validation failed: Text character limit of 500 exceeded"}
        try:
            status = self.state.post(
                self.account,
                text,
                str(params.get("in_reply_to_id") or "") or None,
                str(params.get("visibility") or "public"),
                params.get("__idempotency_key__") or None,
            )
        except LookupError:
            return 404, {"error": "Record not found"}
        return 200, self.json.status(status)

    def _link(self, path: str, page: list[Any]) -> str | None:
        if not page:
            return None
        base = f"{self.fake.url}/api/v1/{path}"
        return f'<{base}?max_id={page[-1].id}>; rel="next", <{base}?min_id={page[0].id}>; rel="prev"'


def _instance(fake: MastodonFake) -> dict[str, Any]:
    host = urlsplit(fake.url).netloc
    return {
        "uri": host,
        "domain": host,
        "title": "Hubbub sandbox",
        "short_description": "A local Mastodon stand-in for trying Hubbub's channels.",
        "description": "",
        "version": "4.3.0",
        "api_versions": {"mastodon": 2},
        "languages": ["en"],
        "registrations": False,
        "configuration": {"statuses": {"max_characters": 500}},
    }
