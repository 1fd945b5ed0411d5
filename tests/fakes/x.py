"""A fake X API v2 and a signed Account Activity webhook sender.

Endpoints (field names of the X API v2 reference): `GET /2/users/me`, `GET /2/users/:id/mentions` (`since_id`,
`max_results`, `pagination_token`, `expansions=author_id` → `data[]`, `includes.users[]`, `meta.newest_id`,
`oldest_id`, `result_count`, `next_token`), `GET /2/users/:id/tweets`, `POST /2/tweets` (`text`,
`reply.in_reply_to_tweet_id` → 201 `data.id`, `data.text`), `POST /2/dm_conversations/with/:id/messages`.
Every answer carries `x-rate-limit-limit/-remaining/-reset`; `rate_limit_next()` answers one 429, `revoke()`
makes the token answer 401, and `drop_after_commit` stores the next tweet and then closes the connection
without an answer (a worker dying between X's accept and Hubbub's record).

OAuth 2.0 (Authorization Code with PKCE, a confidential client): `GET /i/oauth2/authorize` is the consent page,
the user agreeing at once (302 to `redirect_uri` with `state` and `code`; `deny_next` answers
`error=access_denied`); `POST /2/oauth2/token` (form-encoded, HTTP Basic `client_id:client_secret`) with
`grant_type=authorization_code` checks the code (once only), the `redirect_uri` and the `code_verifier` against
the S256 challenge, or with `grant_type=refresh_token` spends the refresh token; both answer `token_type`,
`expires_in` (7200), `access_token`, `scope`, `refresh_token`, and refusals are X's `{"error",
"error_description"}`. `expire(token)` ends an access token's life.

`XWebhook` builds Account Activity deliveries (v1.1 tweet objects, `for_user_id`) and signs them as X does:
`x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256(consumer secret, body)>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import FakeHandler, FakeServer, back_to, s256


@dataclass
class User:
    id: str
    username: str
    name: str = ""
    followers: int = 10


@dataclass
class Tweet:
    id: str
    author: User
    text: str
    created_at: datetime
    in_reply_to: str = ""
    mentions: list[str] = field(default_factory=list)  # user ids

    def v2(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "author_id": self.author.id,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "conversation_id": self.in_reply_to or self.id,
            "lang": "en",
            "edit_history_tweet_ids": [self.id],
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0},
        }
        if self.in_reply_to:
            data["referenced_tweets"] = [{"type": "replied_to", "id": self.in_reply_to}]
        return data

    def v1(self) -> dict[str, Any]:
        """The v1.1 object the Account Activity API delivers."""
        return {
            "created_at": self.created_at.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "id": int(self.id),
            "id_str": self.id,
            "text": self.text,
            "in_reply_to_status_id_str": self.in_reply_to or None,
            "user": {
                "id": int(self.author.id),
                "id_str": self.author.id,
                "name": self.author.name,
                "screen_name": self.author.username,
                "followers_count": self.author.followers,
                "location": "",
            },
            "lang": "en",
            "retweet_count": 0,
            "favorite_count": 0,
        }


def user_v2(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "public_metrics": {"followers_count": user.followers, "following_count": 1, "tweet_count": 1},
    }


class FakeX(FakeServer):
    def __init__(self, latency: float = 0.0, token: str = "x-user-token") -> None:
        self.handler_class = _Handler
        super().__init__(latency)
        self.token = token
        self.users: dict[str, User] = {}
        self.tweets: list[Tweet] = []
        self.dms: list[dict[str, Any]] = []
        self.rate_remaining = 450
        self.rate_reset = int(time.time()) + 900
        self.fail: dict[str, int] = {}  # path kind -> one-shot status (429, 500)
        self.drop_after_commit = False
        self.revoked = False
        self._ids = itertools.count(1_860_000_000_000_000_000)
        # OAuth 2.0 (Authorization Code with PKCE, a confidential client), see `_OAuth`.
        self.access_tokens = {token}
        self.client_id, self.client_secret = "x-client-id", "x-client-secret"
        self.codes: dict[str, dict[str, str]] = {}  # code -> challenge, redirect_uri, scope (used once)
        self.refresh_tokens: set[str] = set()
        self.authorizations: list[dict[str, str]] = []  # the query of every consent page shown
        self.deny_next = False  # the user presses Cancel on the consent page
        self._tokens = itertools.count(1)

    def add_user(self, username: str, name: str = "") -> User:
        user = User(str(next(self._ids)), username, name or username.title())
        self.users[user.id] = user
        return user

    def tweet(self, author: User, text: str, in_reply_to: str = "", mentions: tuple[User, ...] = ()) -> Tweet:
        with self.lock:
            t = Tweet(str(next(self._ids)), author, text, datetime.now(UTC), in_reply_to, [u.id for u in mentions])
            self.tweets.append(t)
            return t

    def replies_by(self, user: User, to: str) -> list[Tweet]:
        return [t for t in self.tweets if t.author.id == user.id and t.in_reply_to == to]

    def expire(self, access_token: str) -> None:
        """The access token's two hours are over: it answers 401 from now on."""
        self.access_tokens.discard(access_token)

    def issue_tokens(self, scope: str) -> dict[str, Any]:
        """A new access and refresh token pair, in the token endpoint's answer format."""
        n = next(self._tokens)
        access, refresh = f"x-access-{n}", f"x-refresh-{n}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": access,
            "scope": scope,
            "refresh_token": refresh,
        }

    def rate_limit_next(self, reset_in: int = 60) -> None:
        self.fail["mentions"] = 429
        self.rate_reset = int(time.time()) + reset_in


class _Handler(FakeHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.route()

    def do_POST(self) -> None:  # noqa: N802
        self.route()

    def route(self) -> None:
        self.wait()
        fake: FakeX = self.fake
        url = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        with fake.lock:
            fake.requests.append((self.command, url.path))
        if url.path == "/i/oauth2/authorize":
            return self.consent()
        if url.path == "/2/oauth2/token" and self.command == "POST":
            with fake.lock:
                return self.answer(*self.token())
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer not in fake.access_tokens or fake.revoked:
            return self.answer(
                401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            )
        kind = parts[-1] if len(parts) >= 3 else "/".join(parts)
        status = fake.fail.pop(kind, 0)
        if status:
            return self.answer(status, {"title": "Too Many Requests" if status == 429 else "Error", "status": status})
        if self.command == "GET" and parts == ["2", "users", "me"]:
            return self.answer(200, {"data": user_v2(next(iter(fake.users.values())))})
        if self.command == "GET" and kind == "mentions":
            return self.answer(200, _mentions(fake, parts[2], self.query))
        if self.command == "GET" and kind == "tweets" and parts[1] == "users":
            own = [t.v2() for t in reversed(fake.tweets) if t.author.id == parts[2]]
            return self.answer(
                200, {"data": own[: int(self.query.get("max_results", 10))], "meta": {"result_count": len(own)}}
            )
        if self.command == "POST" and parts == ["2", "tweets"]:
            return self.post_tweet()
        if self.command == "POST" and kind == "messages":
            return self.post_dm(parts[3])
        self.answer(404, {"title": "Not Found Error", "status": 404})

    def consent(self) -> None:
        """X's consent page, with the brand's owner pressing "Authorize app" at once (or Cancel: `deny_next`)."""
        fake: FakeX = self.fake
        q = self.query
        fake.authorizations.append(q)
        if q.get("client_id") != fake.client_id or q.get("response_type") != "code" or not q.get("redirect_uri"):
            return self.send_body(
                400, b"Something went wrong: you weren't able to give access to the App.", "text/html"
            )
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge") or not q.get("state"):
            return self.send_body(400, b"Something went wrong: missing PKCE challenge or state.", "text/html")
        if fake.deny_next:
            fake.deny_next = False
            return self.redirect(back_to(q["redirect_uri"], error="access_denied", state=q["state"]))
        code = f"x-code-{next(fake._tokens)}"
        fake.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"], "scope": q["scope"]}
        self.redirect(back_to(q["redirect_uri"], state=q["state"], code=code))

    def token(self) -> tuple[int, dict[str, Any]]:
        """`POST /2/oauth2/token`: HTTP Basic client credentials, then the grant (codes and refresh tokens used
        once; a refresh rotates the refresh token)."""
        fake: FakeX = self.fake
        form = self.read_form()
        basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {basic}" or form.get("client_id") != fake.client_id:
            return 401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
        if form.get("grant_type") == "authorization_code":
            grant = fake.codes.pop(form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return 400, {
                    "error": "invalid_request",
                    "error_description": "Value passed for the authorization code was invalid.",
                }
            if s256(form.get("code_verifier", "")) != grant["challenge"]:
                return 400, {
                    "error": "invalid_request",
                    "error_description": "Value passed for the code verifier was invalid.",
                }
            return 200, fake.issue_tokens(grant["scope"])
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token", "") not in fake.refresh_tokens:
                return 400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
            fake.refresh_tokens.discard(form["refresh_token"])
            return 200, fake.issue_tokens("tweet.read tweet.write users.read dm.read dm.write offline.access")
        return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type."}

    def answer(self, status: int, data: Any) -> None:
        fake: FakeX = self.fake
        headers = {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": str(0 if status == 429 else fake.rate_remaining),
            "x-rate-limit-reset": str(fake.rate_reset),
        }
        self.send_json(status, data, headers)

    def me(self) -> User:
        return next(iter(self.fake.users.values()))

    def post_tweet(self) -> None:
        fake: FakeX = self.fake
        body = self.read_json()
        parent = str((body.get("reply") or {}).get("in_reply_to_tweet_id") or "")
        if parent and not any(t.id == parent for t in fake.tweets):
            return self.answer(400, {"title": "Invalid Request", "detail": "tweet to reply to not found"})
        tweet = fake.tweet(self.me(), str(body["text"]), in_reply_to=parent)
        if fake.drop_after_commit:
            fake.drop_after_commit = False
            self.close_connection = True
            self.connection.close()
            return
        self.answer(201, {"data": {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}})

    def post_dm(self, participant: str) -> None:
        fake: FakeX = self.fake
        body = self.read_json()
        event_id = str(next(fake._ids))
        fake.dms.append({"id": event_id, "participant": participant, "text": body.get("text")})
        self.answer(201, {"data": {"dm_conversation_id": f"{self.me().id}-{participant}", "dm_event_id": event_id}})


def _mentions(fake: FakeX, user_id: str, query: dict[str, str]) -> dict[str, Any]:
    """Newest first, above `since_id`, `max_results` a page; the page token is the position in that list."""
    since = int(query.get("since_id") or 0)
    found = [t for t in reversed(fake.tweets) if user_id in t.mentions and int(t.id) > since]
    start = int(query.get("pagination_token") or 0)
    size = int(query.get("max_results") or 10)
    page = found[start : start + size]
    meta: dict[str, Any] = {"result_count": len(page)}
    if page:
        meta.update(newest_id=page[0].id, oldest_id=page[-1].id)
    if start + size < len(found):
        meta["next_token"] = str(start + size)
    data: dict[str, Any] = {"meta": meta}
    if page:
        data["data"] = [t.v2() for t in page]
        data["includes"] = {"users": [user_v2(u) for u in {t.author.id: t.author for t in page}.values()]}
    return data


class XWebhook:
    """Builds and signs Account Activity deliveries for one subscribed account."""

    def __init__(self, consumer_secret: str, for_user: User) -> None:
        self.secret = consumer_secret.encode()
        self.for_user = for_user

    def sign(self, body: bytes) -> str:
        return "sha256=" + base64.b64encode(hmac.new(self.secret, body, hashlib.sha256).digest()).decode()

    def tweets(self, *tweets: Tweet) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"for_user_id": self.for_user.id, "tweet_create_events": [t.v1() for t in tweets]}).encode()
        return body, self.headers(body)

    def dm(self, sender: User, text: str, event_id: str) -> tuple[bytes, dict[str, str]]:
        event = {
            "type": "message_create",
            "id": event_id,
            "created_timestamp": str(int(time.time() * 1000)),
            "message_create": {
                "target": {"recipient_id": self.for_user.id},
                "sender_id": sender.id,
                "message_data": {
                    "text": text,
                    "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
                },
            },
        }
        users = {u.id: {"id": u.id, "name": u.name, "screen_name": u.username} for u in (sender, self.for_user)}
        body = json.dumps({"for_user_id": self.for_user.id, "direct_message_events": [event], "users": users}).encode()
        return body, self.headers(body)

    def headers(self, body: bytes) -> dict[str, str]:
        return {"content-type": "application/json", "x-twitter-webhooks-signature": self.sign(body)}
