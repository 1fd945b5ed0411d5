"""A fake Bluesky PDS + AppView: the XRPC endpoints Hubbub's Bluesky connector calls, with the lexicon's field
names (`accessJwt`, `indexedAt`, `reasonSubject`, `reply.root/parent` strong refs…) and the PDS's errors
(`AuthenticationRequired`, `ExpiredToken`, `RecordNotFound`, 429 `RateLimitExceeded` with `ratelimit-*` headers).

Endpoints: `com.atproto.server.createSession|refreshSession|getSession`,
`app.bsky.notification.listNotifications`, `com.atproto.repo.createRecord|getRecord`, `app.bsky.feed.searchPosts`
(every word of `q`, case-insensitive, `sort=latest`; the real AppView's search is richer).

Tokens are JWT-shaped (unsigned) with the real claims (`scope`, `sub`, `exp`), so the SDK's own expiry check
runs. A second `createRecord` with a taken rkey gets the 500 that deployed PDSs answer (indigo#873), which is
why the connector asks `getRecord` after any failed create.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import FakeHandler, FakeServer

_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def cid_for(data: Any) -> str:
    """A CIDv1 (dag-cbor, sha2-256) in base32, as the PDS gives records (of the JSON here, not of CBOR)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).digest()
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def tid_now(clock: itertools.count[int]) -> str:
    value = (int(time.time() * 1_000_000) << 10) | (next(clock) & 0x3FF)
    return "".join(_B32[(value >> shift) & 31] for shift in range(60, -5, -5))


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.{secrets.token_urlsafe(16)}"


@dataclass
class Account:
    did: str
    handle: str
    display_name: str = ""
    password: str = ""  # the app password; empty for accounts that only post mentions


@dataclass
class Fault:
    """A one-shot answer for the next call of an endpoint (`status` and error), or `drop_after_commit`: the
    PDS does the write and the connection closes before the answer, as when a worker dies mid-request."""

    status: int = 0
    error: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    drop_after_commit: bool = False


class FakeBluesky(FakeServer):
    def __init__(self, latency: float = 0.0, access_ttl: timedelta = timedelta(hours=2)) -> None:
        self.handler_class = _Handler
        super().__init__(latency)
        self.access_ttl = access_ttl
        self.accounts: dict[str, Account] = {}  # by did
        self.notifications: list[tuple[str, dict[str, Any]]] = []  # (recipient did, notification), any order
        self.records: dict[str, dict[str, Any]] = {}  # uri -> {"uri", "cid", "value"}
        self.indexed_at: dict[str, str] = {}  # uri -> when the AppView indexed the post
        self.access: dict[str, str] = {}  # access token -> did
        self.refresh: dict[str, str] = {}  # refresh token -> did
        self.expired: set[str] = set()  # tokens the server now answers ExpiredToken for
        self.faults: dict[str, list[Fault]] = {}
        self.sessions_created = 0
        self.sessions_refreshed = 0
        self.rate_remaining = 3000
        self._clock = itertools.count()
        self._posts = itertools.count(1)

    # ------------------------------------------------------------------ test set-up
    def add_account(self, handle: str, password: str = "", display_name: str = "") -> Account:
        did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        account = Account(did=did, handle=handle, display_name=display_name, password=password)
        self.accounts[did] = account
        return account

    def post(
        self,
        author: Account,
        text: str,
        reply_to: dict[str, Any] | None = None,
        indexed_at: datetime | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A post by `author` in their repo (a reply when `reply_to` is a stored post); returns its record view."""
        value: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": iso(datetime.now(UTC)),
            "langs": ["en"],
            **fields,
        }
        if reply_to is not None:
            parent = {"uri": reply_to["uri"], "cid": reply_to["cid"]}
            root = reply_to["value"].get("reply", {}).get("root", parent)
            value["reply"] = {"root": root, "parent": parent}
        uri = f"at://{author.did}/app.bsky.feed.post/{tid_now(self._clock)}"
        stored = {"uri": uri, "cid": cid_for(value), "value": value}
        with self.lock:
            self.records[uri] = stored
            self.indexed_at[uri] = iso(indexed_at or datetime.now(UTC))
        return stored

    def profile(self, did: str) -> dict[str, Any]:
        author = self.accounts[did]
        return {
            "did": author.did,
            "handle": author.handle,
            "displayName": author.display_name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{author.did}/bafkrei@jpeg",
            "viewer": {"muted": False, "blockedBy": False},
            "labels": [],
            "createdAt": "2023-04-12T08:00:00.000Z",
        }

    def notify(
        self, post: dict[str, Any], reason: str, indexed_at: datetime | None = None, to: Account | None = None
    ) -> dict[str, Any]:
        """Deliver a notification for a stored post (`mention`, `reply`, `like`…) to `to`, by default the first
        account that can log in (the brand's)."""
        recipient = to or next(a for a in self.accounts.values() if a.password)
        author = self.accounts[post["uri"].split("/")[2]]
        indexed = indexed_at or datetime.now(UTC)
        notification: dict[str, Any] = {
            "uri": post["uri"],
            "cid": post["cid"],
            "author": self.profile(author.did),
            "reason": reason,
            "record": post["value"],
            "isRead": False,
            "indexedAt": iso(indexed),
            "labels": [],
        }
        if reason == "reply":
            notification["reasonSubject"] = post["value"]["reply"]["parent"]["uri"]
        with self.lock:
            self.notifications.append((recipient.did, notification))
        return notification

    def fail_next(self, nsid: str, fault: Fault) -> None:
        self.faults.setdefault(nsid, []).append(fault)

    def rate_limit_next(self, nsid: str, reset_in: int = 30) -> None:
        reset = str(int(time.time()) + reset_in)
        headers = {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": reset}
        self.fail_next(nsid, Fault(429, "RateLimitExceeded", "Rate Limit Exceeded", headers))

    def expire_access_tokens(self) -> None:
        """The PDS now answers `ExpiredToken` for every access token issued so far (its clock moved on)."""
        with self.lock:
            self.expired.update(self.access)

    def revoke_app_password(self, handle: str) -> None:
        """The user deleted the app password in Bluesky's settings: it and its sessions stop working."""
        with self.lock:
            for account in self.accounts.values():
                if account.handle == handle:
                    account.password = ""
                    self.expired.update(
                        t for t, did in [*self.access.items(), *self.refresh.items()] if did == account.did
                    )

    def posts_by(self, account: Account) -> list[dict[str, Any]]:
        with self.lock:
            return [r for uri, r in self.records.items() if uri.startswith(f"at://{account.did}/")]

    # ------------------------------------------------------------------ sessions
    def issue_session(self, account: Account) -> dict[str, Any]:
        now = int(time.time())
        access = _jwt(
            {
                "scope": "com.atproto.appPass",
                "sub": account.did,
                "iat": now,
                "exp": now + int(self.access_ttl.total_seconds()),
                "aud": "did:web:pds.test",
            }
        )
        refresh = _jwt(
            {
                "scope": "com.atproto.refresh",
                "sub": account.did,
                "iat": now,
                "exp": now + 90 * 86400,
                "jti": secrets.token_hex(8),
            }
        )
        with self.lock:
            self.access[access] = account.did
            self.refresh[refresh] = account.did
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": account.handle,
            "did": account.did,
            "active": True,
        }

    def account_by_login(self, identifier: str, password: str) -> Account | None:
        for account in self.accounts.values():
            if identifier in (account.handle, account.did) and account.password and account.password == password:
                return account
        return None


class _Handler(FakeHandler):
    fake: FakeBluesky

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self.dispatch()

    def dispatch(self) -> None:
        self.wait()
        parts = urlsplit(self.path)
        nsid = parts.path.removeprefix("/xrpc/")
        self.fake.requests.append((self.command, nsid))
        self.query = {k: v for k, v in parse_qs(parts.query).items()}
        self.body = self.read_json() if self.command == "POST" else {}
        with self.fake.lock:
            queued = self.fake.faults.get(nsid) or []
            fault = queued.pop(0) if queued else None
        if fault is not None and not fault.drop_after_commit:
            self.error(fault.status, fault.error, fault.message, fault.headers)
            return
        route = _ROUTES.get(nsid)
        if route is None:
            self.error(501, "MethodNotImplemented", "Method Not Implemented")
            return
        status, data = route(self)
        if fault is not None:  # the write happened; the caller never hears of it
            self.close_connection = True
            self.connection.shutdown(2)
            return
        with self.fake.lock:
            self.fake.rate_remaining = max(0, self.fake.rate_remaining - 1)
            remaining = self.fake.rate_remaining
        headers = {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(int(time.time()) + 300),
            "ratelimit-policy": "3000;w=300",
        }
        self.send_json(status, data, headers)

    def error(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.send_json(status, {"error": error, "message": message}, headers)

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]

    def bearer(self) -> str:
        return (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()

    def authed_did(self, tokens: dict[str, str]) -> tuple[str | None, tuple[int, dict[str, Any]] | None]:
        token = self.bearer()
        if token in self.fake.expired:
            return None, (400, {"error": "ExpiredToken", "message": "Token has expired"})
        did = tokens.get(token)
        if did is None:
            return None, (401, {"error": "AuthenticationRequired", "message": "Authentication Required"})
        return did, None


def _create_session(h: _Handler) -> tuple[int, dict[str, Any]]:
    account = h.fake.account_by_login(str(h.body.get("identifier", "")), str(h.body.get("password", "")))
    if account is None:
        return 401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    h.fake.sessions_created += 1
    return 200, h.fake.issue_session(account)


def _refresh_session(h: _Handler) -> tuple[int, dict[str, Any]]:
    did, err = h.authed_did(h.fake.refresh)
    if err:
        return err
    with h.fake.lock:
        h.fake.expired.add(h.bearer())  # a refresh token is used once
    h.fake.sessions_refreshed += 1
    return 200, h.fake.issue_session(h.fake.accounts[str(did)])


def _get_session(h: _Handler) -> tuple[int, dict[str, Any]]:
    did, err = h.authed_did(h.fake.access)
    if err:
        return err
    account = h.fake.accounts[str(did)]
    return 200, {"handle": account.handle, "did": account.did, "active": True, "emailConfirmed": True}


def _list_notifications(h: _Handler) -> tuple[int, dict[str, Any]]:
    did, err = h.authed_did(h.fake.access)
    if err:
        return err
    reasons = set(h.query.get("reasons", []))
    limit = min(100, int(h.param("limit", "50")))
    with h.fake.lock:
        mine = [n for to, n in h.fake.notifications if to == did]
    items = sorted(mine, key=lambda n: (n["indexedAt"], n["cid"]), reverse=True)
    if reasons:
        items = [n for n in items if n["reason"] in reasons]
    cursor = h.param("cursor")
    if cursor:
        at, _, cid = cursor.partition("::")
        items = [n for n in items if (n["indexedAt"], n["cid"]) < (at, cid)]
    page = items[:limit]
    data: dict[str, Any] = {"notifications": page, "priority": False}
    if len(items) > limit:
        data["cursor"] = f"{page[-1]['indexedAt']}::{page[-1]['cid']}"
    return 200, data


def _create_record(h: _Handler) -> tuple[int, dict[str, Any]]:
    did, err = h.authed_did(h.fake.access)
    if err:
        return err
    if h.body.get("repo") not in (did, h.fake.accounts[str(did)].handle):
        return 400, {"error": "InvalidRequest", "message": "Input/repo must be the authenticated account"}
    record = dict(h.body.get("record") or {})
    text = str(record.get("text", ""))
    if len(text) > 300:
        return 400, {
            "error": "InvalidRequest",
            "message": "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
        }
    rkey = str(h.body.get("rkey") or tid_now(h.fake._clock))
    uri = f"at://{did}/{h.body.get('collection')}/{rkey}"
    with h.fake.lock:
        if uri in h.fake.records:
            return 500, {"error": "InternalServerError", "message": "Internal Server Error"}
        stored = {"uri": uri, "cid": cid_for(record), "value": record}
        h.fake.records[uri] = stored
    return 200, {
        "uri": uri,
        "cid": stored["cid"],
        "commit": {"cid": cid_for(uri), "rev": tid_now(h.fake._clock)},
        "validationStatus": "valid",
    }


def _get_record(h: _Handler) -> tuple[int, dict[str, Any]]:
    repo = h.param("repo")
    did = next((a.did for a in h.fake.accounts.values() if repo in (a.did, a.handle)), repo)
    uri = f"at://{did}/{h.param('collection')}/{h.param('rkey')}"
    with h.fake.lock:
        stored = h.fake.records.get(uri)
    if stored is None:
        return 400, {"error": "RecordNotFound", "message": f"Could not locate record: {uri}"}
    return 200, stored


def _search_posts(h: _Handler) -> tuple[int, dict[str, Any]]:
    _, err = h.authed_did(h.fake.access)
    if err:
        return err
    words = h.param("q").lower().split()
    if not words:
        return 400, {"error": "InvalidRequest", "message": 'Error: Params must have the property "q"'}
    since, limit, offset = h.param("since"), min(100, int(h.param("limit", "25"))), int(h.param("cursor", "0") or 0)
    with h.fake.lock:
        hits = [
            (h.fake.indexed_at[uri], r)
            for uri, r in h.fake.records.items()
            if "/app.bsky.feed.post/" in uri and all(w in str(r["value"].get("text", "")).lower() for w in words)
        ]
    hits = sorted((hit for hit in hits if not since or hit[0] >= since), key=lambda hit: hit[0], reverse=True)
    page = hits[offset : offset + limit]
    posts = [
        {
            "uri": r["uri"],
            "cid": r["cid"],
            "author": h.fake.profile(r["uri"].split("/")[2]),
            "record": r["value"],
            "replyCount": 0,
            "repostCount": 2,
            "likeCount": 5,
            "quoteCount": 0,
            "indexedAt": at,
            "labels": [],
        }
        for at, r in page
    ]
    data: dict[str, Any] = {"posts": posts, "hitsTotal": len(hits)}
    if offset + limit < len(hits):
        data["cursor"] = str(offset + limit)
    return 200, data


_ROUTES = {
    "app.bsky.feed.searchPosts": _search_posts,
    "com.atproto.server.createSession": _create_session,
    "com.atproto.server.refreshSession": _refresh_session,
    "com.atproto.server.getSession": _get_session,
    "app.bsky.notification.listNotifications": _list_notifications,
    "com.atproto.repo.createRecord": _create_record,
    "com.atproto.repo.getRecord": _get_record,
}
