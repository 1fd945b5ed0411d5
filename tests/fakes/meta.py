"""A fake Graph API (Facebook Pages, Instagram) and Threads API, and signed Meta webhook deliveries.

Endpoints (the Graph references' names): `GET /me`, `POST /{comment-id}/comments` (`message` → `{"id"}`),
`GET /{comment-id}/comments`, `POST /{ig-comment-id}/replies`, `GET /{id}/replies`, `POST /me/messages`
(`recipient.id`, `messaging_type`, `message.text` → `recipient_id`, `message_id`), `POST /{user-id}/threads`
(`media_type=TEXT`, `text`, `reply_to_id` → container `id`), `POST /{user-id}/threads_publish`
(`creation_id` → media `id`). Errors are Graph's `{"error": {"message", "type", "code", "fbtrace_id"}}`; an
unknown token is code 190.

Sign-in (Facebook Login and Threads' authorization, codes used once, the apps' credentials checked) and the
refresh of long-lived Threads tokens are `_OAuth`.
A leading version segment (`/v21.0/me`) is ignored, so a base URL with or without one reaches the same fake.

`MetaWebhook` builds Page, Instagram, Messenger and Threads deliveries and signs them as Meta does:
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import FakeHandler, FakeServer, back_to

LONG_LIVED = 5183944  # seconds a long-lived Threads token lasts (Threads' own expires_in)
DAY = 86400


class FakeGraph(FakeServer):
    def __init__(self, latency: float = 0.0) -> None:
        self.handler_class = _Handler
        super().__init__(latency)
        self.tokens: dict[str, dict[str, str]] = {}  # token -> {"id", "name"/"username"}
        self.objects: dict[str, dict[str, Any]] = {}  # id -> {"parent", "text", "from", "kind"}
        self.containers: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self._ids = itertools.count(17_800_000_000_000_000)
        # Sign-in (see `_OAuth`): the apps, the codes given out (used once), the signed-in user's Pages.
        self.app = ("meta-app-id", "meta-app-secret")
        self.threads_app = ("threads-app-id", "threads-app-secret")
        self.codes: dict[str, dict[str, str]] = {}  # code -> kind (facebook|threads), redirect_uri
        self.short_tokens: dict[str, str] = {}  # short-lived token -> kind, for the long-lived exchange
        self.user_tokens: set[str] = set()  # long-lived Facebook user tokens
        self.pages: list[dict[str, Any]] = []  # what /me/accounts lists
        self.threads_user = ("25000000000000001", "acme_air")
        self.threads_long: dict[str, float] = {}  # long-lived Threads token -> when it was issued (time.time())
        self.dialogs: list[dict[str, str]] = []  # the query of every consent page shown
        self.deny_next = False

    def account(self, token: str, account_id: str, name: str) -> None:
        self.tokens[token] = {"id": account_id, "name": name, "username": name}

    def age(self, token: str, seconds: float) -> None:
        """Make a long-lived Threads token older (issued `seconds` earlier), as if that much time had passed."""
        self.threads_long[token] -= seconds

    def add_page(self, page_id: str, name: str, token: str, ig_id: str = "", ig_username: str = "") -> None:
        """A Page the signed-in Facebook user manages (its token works as the Page's), maybe with Instagram."""
        self.account(token, page_id, name)
        page: dict[str, Any] = {"id": page_id, "name": name, "access_token": token}
        if ig_id:
            page["instagram_business_account"] = {"id": ig_id, "username": ig_username}
        self.pages.append(page)

    def add(self, object_id: str, text: str = "", author: str = "", parent: str = "") -> None:
        self.objects[object_id] = {"id": object_id, "parent": parent, "text": text, "from": author}

    def children(self, parent: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["parent"] == parent]

    def new_id(self) -> str:
        return str(next(self._ids))


def graph_error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}}


class _Handler(FakeHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.route()

    def do_POST(self) -> None:  # noqa: N802
        self.route()

    def route(self) -> None:
        self.wait()
        fake: FakeGraph = self.fake
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.read_json() if self.command == "POST" and "json" in (self.headers.get("Content-Type") or "") else {}
        parts = url.path.strip("/").split("/")
        if parts and re.fullmatch(r"v\d+\.\d+", parts[0]):  # a versioned path: /v21.0/me is /me
            parts = parts[1:] or [""]
        with fake.lock:
            fake.requests.append((self.command, url.path))
            signing_in = _OAuth(self, fake, params).route(parts)
        if signing_in:
            return
        me = fake.tokens.get((self.headers.get("Authorization") or "").removeprefix("Bearer "))
        if me is None:
            return self.send_json(401, graph_error(190, "Error validating access token: Session has expired."))
        node, edge = (parts + [""])[:2]
        with fake.lock:
            return self.send_json(*self.answer(fake, me, node, edge, params, body))

    def answer(
        self, fake: FakeGraph, me: dict[str, str], node: str, edge: str, params: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if self.command == "GET" and node == "me" and not edge:  # the fields asked for (Threads has no name)
            fields = params.get("fields", "id,name").split(",")
            return 200, {k: v for k, v in me.items() if k in fields}
        if self.command == "POST" and node == "me" and edge == "messages":
            message_id = "m_" + fake.new_id()
            fake.messages.append(
                {
                    "recipient": body["recipient"]["id"],
                    "type": body["messaging_type"],
                    "text": body["message"]["text"],
                    "id": message_id,
                }
            )
            return 200, {"recipient_id": body["recipient"]["id"], "message_id": message_id}
        if self.command == "POST" and edge == "threads":
            if params.get("media_type") != "TEXT" or node != me["id"]:
                return 400, graph_error(100, "Invalid parameter")
            creation = fake.new_id()
            fake.containers[creation] = {"text": params["text"], "reply_to_id": params.get("reply_to_id", "")}
            return 200, {"id": creation}
        if self.command == "POST" and edge == "threads_publish":
            container = fake.containers.pop(params.get("creation_id", ""), None)
            if container is None:
                return 400, graph_error(24, "The requested resource does not exist")
            media = fake.new_id()
            fake.add(media, container["text"], me["username"], container["reply_to_id"])
            return 200, {"id": media}
        if node not in fake.objects:
            return 400, graph_error(100, f"Unsupported request: object with ID '{node}' does not exist")
        if self.command == "POST" and edge in ("comments", "replies"):
            new = fake.new_id() if edge == "replies" else f"{node.split('_')[0]}_{fake.new_id()}"
            fake.add(new, params.get("message", ""), me["id"], node)
            return 200, {"id": new}
        if self.command == "GET" and edge in ("comments", "replies"):
            rows = []
            for o in fake.children(node):
                rows.append(
                    {
                        "id": o["id"],
                        "message": o["text"],
                        "text": o["text"],
                        "from": {"id": o["from"]},
                        "username": o["from"],
                    }
                )
            return 200, {"data": rows, "paging": {"cursors": {"before": "a", "after": "b"}}}
        return 400, graph_error(100, "Unsupported request")


class _OAuth:
    """Facebook Login and Threads sign-in, as their references describe them:

    - `GET /dialog/oauth` (Facebook) and `GET /oauth/authorize` (Threads): the consent page, the user agreeing
      at once (302 to `redirect_uri` with `code` and `state`; `deny_next`: `error=access_denied`);
    - `GET /oauth/access_token?client_id&client_secret&redirect_uri&code` → `{"access_token", "token_type":
      "bearer", "expires_in"}` (short-lived), and with `grant_type=fb_exchange_token&fb_exchange_token` the
      long-lived user token; `GET /me/accounts` lists the Pages for a long-lived user token only (a short-lived
      one's Page tokens would expire within the hour): `{"data": [{"id", "name", "access_token",
      "instagram_business_account": {"id", "username"}}], "paging": {"cursors"}}`;
    - `POST /oauth/access_token` (Threads, form-encoded: client_id, client_secret, grant_type, redirect_uri,
      code) → `{"access_token", "user_id"}`, then `GET /access_token?grant_type=th_exchange_token&client_secret
      &access_token` → `{"access_token", "token_type": "bearer", "expires_in": 5183944}`;
    - `GET /refresh_access_token?grant_type=th_refresh_token&access_token` → a new long-lived token, the same
      answer. As documented, only a known long-lived token that is at least 24 h old (`FakeGraph.age`) and not
      expired is refreshed (else code 190). Stricter than Threads says: the old token stops working, so a test
      sees which token a later request used.

    Codes are used once and must come back with the same `redirect_uri` and the right app's credentials."""

    def __init__(self, handler: _Handler, fake: FakeGraph, params: dict[str, str]) -> None:
        self.handler, self.fake, self.params = handler, fake, params

    def route(self, parts: list[str]) -> bool:
        """Answer a sign-in request (True), or leave the request to the API (False)."""
        method, path = self.handler.command, "/".join(parts)
        if method == "GET" and path in ("dialog/oauth", "oauth/authorize"):
            self.consent("facebook" if path == "dialog/oauth" else "threads")
        elif method == "GET" and path == "oauth/access_token":
            self.handler.send_json(*self.facebook_token())
        elif method == "POST" and path == "oauth/access_token":
            self.handler.send_json(*self.threads_token(self.handler.read_form()))
        elif method == "GET" and path == "access_token":
            self.handler.send_json(*self.threads_long_lived())
        elif method == "GET" and path == "refresh_access_token":
            self.handler.send_json(*self.threads_refresh())
        elif method == "GET" and path == "me/accounts":
            self.handler.send_json(*self.accounts())
        else:
            return False
        return True

    def consent(self, kind: str) -> None:
        q, fake = self.params, self.fake
        fake.dialogs.append(q)
        app_id = (fake.app if kind == "facebook" else fake.threads_app)[0]
        if q.get("client_id") != app_id or not q.get("redirect_uri") or not q.get("state"):
            return self.handler.send_body(400, b"Invalid App ID, redirect URI or state", "text/html")
        if fake.deny_next:
            fake.deny_next = False
            return self.handler.redirect(back_to(q["redirect_uri"], error="access_denied", state=q["state"]))
        code = f"{kind}-code-{fake.new_id()}"
        fake.codes[code] = {"kind": kind, "redirect_uri": q["redirect_uri"]}
        self.handler.redirect(back_to(q["redirect_uri"], code=code, state=q["state"]))

    def facebook_token(self) -> tuple[int, dict[str, Any]]:
        q, fake = self.params, self.fake
        if (q.get("client_id"), q.get("client_secret")) != fake.app:
            return 400, graph_error(1, "Error validating client secret.")
        if q.get("grant_type") == "fb_exchange_token":
            if fake.short_tokens.pop(q.get("fb_exchange_token", ""), "") != "facebook":
                return 400, graph_error(190, "Invalid OAuth access token.")
            token = f"fb-user-long-{fake.new_id()}"
            fake.user_tokens.add(token)
            return 200, {"access_token": token, "token_type": "bearer", "expires_in": 5183944}
        if not self.code_ok("facebook", q):
            return 400, graph_error(100, "This authorization code has been used or is invalid.")
        token = f"fb-user-short-{fake.new_id()}"
        fake.short_tokens[token] = "facebook"
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 5183}

    def threads_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        fake = self.fake
        if (form.get("client_id"), form.get("client_secret")) != fake.threads_app:
            return 400, graph_error(1, "Error validating client secret.")
        if form.get("grant_type") != "authorization_code" or not self.code_ok("threads", form):
            return 400, graph_error(100, "This authorization code has been used or is invalid.")
        token = f"th-short-{fake.new_id()}"
        fake.short_tokens[token] = "threads"
        return 200, {"access_token": token, "user_id": int(fake.threads_user[0])}

    def threads_long_lived(self) -> tuple[int, dict[str, Any]]:
        q, fake = self.params, self.fake
        if q.get("grant_type") != "th_exchange_token" or q.get("client_secret") != fake.threads_app[1]:
            return 400, graph_error(1, "Error validating client secret.")
        if fake.short_tokens.pop(q.get("access_token", ""), "") != "threads":
            return 400, graph_error(190, "Invalid OAuth access token.")
        return 200, self.new_long_lived()

    def threads_refresh(self) -> tuple[int, dict[str, Any]]:
        q, fake = self.params, self.fake
        if q.get("grant_type") != "th_refresh_token":
            return 400, graph_error(100, "Unsupported grant_type.")
        issued = fake.threads_long.get(q.get("access_token", ""))
        if issued is None or time.time() - issued >= LONG_LIVED:
            return 400, graph_error(190, "Error validating access token: Session has expired or is not valid.")
        if time.time() - issued < DAY:
            return 400, graph_error(190, "The access token is less than 24 hours old and cannot be refreshed.")
        fake.threads_long.pop(q["access_token"])
        fake.tokens.pop(q["access_token"], None)
        return 200, self.new_long_lived()

    def new_long_lived(self) -> dict[str, Any]:
        fake = self.fake
        token = f"th-long-{fake.new_id()}"
        fake.account(token, *fake.threads_user)
        fake.threads_long[token] = time.time()
        return {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED}

    def accounts(self) -> tuple[int, dict[str, Any]]:
        bearer = (self.handler.headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer not in self.fake.user_tokens:
            return 401, graph_error(190, "Error validating access token.")
        return 200, {"data": list(self.fake.pages), "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}

    def code_ok(self, kind: str, given: dict[str, str]) -> bool:
        grant = self.fake.codes.pop(given.get("code", ""), None)
        return grant is not None and grant["kind"] == kind and grant["redirect_uri"] == given.get("redirect_uri")


class MetaWebhook:
    """Builds and signs deliveries as Meta sends them to the app's callback URL."""

    def __init__(self, app_secret: str) -> None:
        self.secret = app_secret.encode()

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def signed(self, data: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(data).encode()
        return body, {"content-type": "application/json", "x-hub-signature-256": self.sign(body)}

    def page_comment(
        self, page_id: str, comment_id: str, post_id: str, text: str, author: tuple[str, str]
    ) -> dict[str, Any]:
        value = {
            "from": {"id": author[0], "name": author[1]},
            "post": {"status_type": "added_photos", "is_published": True, "id": post_id},
            "message": text,
            "post_id": post_id,
            "comment_id": comment_id,
            "created_time": int(time.time()),
            "item": "comment",
            "parent_id": post_id,
            "verb": "add",
        }
        return {
            "object": "page",
            "entry": [{"id": page_id, "time": int(time.time()), "changes": [{"field": "feed", "value": value}]}],
        }

    def ig_comment(
        self, ig_id: str, comment_id: str, media_id: str, text: str, author: tuple[str, str]
    ) -> dict[str, Any]:
        value = {
            "from": {"id": author[0], "username": author[1]},
            "media": {"id": media_id, "media_product_type": "FEED"},
            "id": comment_id,
            "text": text,
        }
        return {
            "object": "instagram",
            "entry": [{"id": ig_id, "time": int(time.time()), "changes": [{"field": "comments", "value": value}]}],
        }

    def message(self, obj: str, account_id: str, sender: str, mid: str, text: str) -> dict[str, Any]:
        event = {
            "sender": {"id": sender},
            "recipient": {"id": account_id},
            "timestamp": int(time.time() * 1000),
            "message": {"mid": mid, "text": text},
        }
        return {"object": obj, "entry": [{"id": account_id, "time": int(time.time() * 1000), "messaging": [event]}]}

    def threads_reply(self, user_id: str, media_id: str, replied_to: str, text: str, username: str) -> dict[str, Any]:
        value = {
            "id": media_id,
            "username": username,
            "text": text,
            "media_type": "TEXT_POST",
            "permalink": f"https://www.threads.net/@{username}/post/Pp{media_id[-4:]}",
            "replied_to": {"id": replied_to},
            "root_post": {"id": replied_to, "owner_id": user_id, "username": "acme_air"},
            "shortcode": f"Pp{media_id[-4:]}",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
        }
        return {
            "app_id": "123456",
            "topic": "moderate",
            "target_id": user_id,
            "time": int(time.time()),
            "subscription_id": "234567",
            "has_uid_field": False,
            "values": {"value": value, "field": "replies"},
        }
