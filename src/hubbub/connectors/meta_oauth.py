"""Connecting Facebook Pages, their Instagram accounts and Threads accounts with Meta's own sign-in.

- **Facebook Login** ("Connect with Facebook"). The admin goes to the Login dialog (`META_DIALOG_URL`) with the
  app id, a `state` and the Page and Instagram permissions below; Meta sends them back with a code, traded at
  `GET {META_GRAPH_URL}/oauth/access_token` (app id and secret) for a user token, exchanged at once for a
  long-lived one (`grant_type=fb_exchange_token`) because the Page tokens listed with a short-lived user token
  expire within the hour, while those of a long-lived one do not. `GET /me/accounts` lists the Pages the admin
  manages, each with its Page token and linked Instagram business account; the admin picks a Page (and
  whether its Instagram account) on the next page (`PageChoice`, sealed in their session, used once). The
  Page token is the credential of both: the Page is `account_id` of the Facebook channel, the Instagram
  account's id of the Instagram one.
- **Threads** ("Connect Threads"). The consent page (`THREADS_AUTHORIZE_URL`), then `POST
  {THREADS_API_URL}/oauth/access_token` for a short-lived token and the user id, `GET /access_token` with
  `grant_type=th_exchange_token` for the long-lived one (60 days), and `GET /v1.0/me?fields=id,username`.
- **Threads renewal.** Before a poll, a check or a send (`meta.py` asks `fresh_threads_credentials`), a
  long-lived token with less than `THREADS_RENEW_MARGIN` left is traded at `GET /refresh_access_token`
  (`grant_type=th_refresh_token`) for a new 60-day one. The margin is a week, so a channel polled only now and
  then, or quiet for days, still renews before the end; Threads refreshes only tokens at least a day old, which
  a token so close to its end always is. `token_renewal` (shared with X) saves it before use, one renewal at a
  time per channel, and a refusal marks the channel "reconnect needed". A pasted token (no `expires_at`) is
  never renewed.

Every account goes through `channel_admin.connect_authorized`: tested, saved encrypted, audited.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from hubbub.connectors import oauth_flow, token_renewal
from hubbub.connectors.channel_admin import ChannelFormError, connect_authorized
from hubbub.connectors.crypto import decrypt_json, encrypt_json
from hubbub.connectors.models import Channel, Network
from hubbub.connectors.oauth_flow import PendingAuthorization
from hubbub.tenancy.scoping import Scope

FACEBOOK_SCOPES = (
    "pages_show_list,pages_manage_metadata,pages_read_engagement,pages_manage_engagement,pages_messaging,"
    "instagram_basic,instagram_manage_comments,instagram_manage_messages"
)
THREADS_SCOPES = (
    "threads_basic,threads_content_publish,threads_manage_replies,threads_read_replies,threads_manage_mentions"
)
PAGE_FIELDS = "id,name,access_token,instagram_business_account{id,username}"
MAX_PAGE_LISTS = 5  # of 100 Pages each: more than an admin picks from
THREADS_LONG_LIVED = 60 * 86400  # what Threads documents, when its answer does not say
THREADS_RENEW_MARGIN = 7 * 86400  # renewed when less is left: longer than any quiet spell between polls
_VERSION = re.compile(r"/v\d+\.\d+$")  # the token endpoints are not versioned: /v1.0 comes off


def facebook_configured() -> bool:
    return bool(settings.META_APP_ID and settings.META_APP_SECRET)


def threads_configured() -> bool:
    return bool(settings.THREADS_APP_ID and settings.THREADS_APP_SECRET)


def start_facebook(scope: Scope, brand_id: int, redirect_uri: str) -> tuple[str, PendingAuthorization]:
    """Facebook's Login dialog for this admin, and what to keep in their session until they come back."""
    pending = oauth_flow.begin(scope, Network.FACEBOOK.value, brand_id, redirect_uri)
    if not facebook_configured():
        raise ChannelFormError("Facebook is not set up here: the operator must set HUBBUB_META_APP_ID and its secret.")
    query = {
        "client_id": settings.META_APP_ID,
        "redirect_uri": redirect_uri,
        "state": pending.state,
        "scope": FACEBOOK_SCOPES,
        "response_type": "code",
    }
    return f"{settings.META_DIALOG_URL}?{urlencode(query)}", pending


@dataclass
class PageChoice:
    """The Pages the admin may connect for the brand, with their tokens: kept sealed (encrypted) in their session
    between Facebook's callback and their pick, never shown."""

    brand_id: int
    pages: list[dict[str, str]]  # id, name, access_token, instagram_id, instagram_username

    def to_session(self) -> dict[str, str]:
        return {"sealed": encrypt_json({"brand_id": self.brand_id, "pages": self.pages})}

    @classmethod
    def from_session(cls, data: Any) -> PageChoice | None:
        try:
            opened = decrypt_json(str(data["sealed"]))
            return cls(int(opened["brand_id"]), list(opened["pages"]))
        except (KeyError, TypeError, ValueError):
            return None


def finish_facebook(scope: Scope, pending: PendingAuthorization | None, code: str, state: str) -> PageChoice:
    """The admin came back from Facebook with a code: the Pages they manage, to pick from."""
    pending = oauth_flow.claim(scope, pending, Network.FACEBOOK.value, state)
    graph = settings.META_GRAPH_URL.rstrip("/")
    app = {"client_id": settings.META_APP_ID, "client_secret": settings.META_APP_SECRET}
    params = {**app, "redirect_uri": pending.redirect_uri, "code": code}
    short = oauth_flow.token_request("Facebook", "GET", f"{graph}/oauth/access_token", params=params)
    params = {**app, "grant_type": "fb_exchange_token", "fb_exchange_token": _token(short, "Facebook")}
    user_token = _token(
        oauth_flow.token_request("Facebook", "GET", f"{graph}/oauth/access_token", params=params), "Facebook"
    )
    pages: list[dict[str, str]] = []
    url, query = f"{graph}/me/accounts", {"fields": PAGE_FIELDS, "limit": "100"}
    for _ in range(MAX_PAGE_LISTS):
        listed = oauth_flow.token_request(
            "Facebook", "GET", url, params=query, headers={"Authorization": f"Bearer {user_token}"}
        )
        pages.extend(_page(row) for row in listed.get("data") or () if isinstance(row, dict) and row.get("id"))
        after = ((listed.get("paging") or {}).get("cursors") or {}).get("after")
        if not (listed.get("paging") or {}).get("next") or not after:
            break
        query = {**query, "after": str(after)}
    return PageChoice(pending.brand_id, pages)


def connect_page(
    scope: Scope, choice: PageChoice | None, page_id: str, facebook: bool, instagram: bool
) -> list[tuple[Channel, str]]:
    """Connect the chosen Page, its Instagram account, or both, for the brand the admin started with."""
    page = next((p for p in (choice.pages if choice else ()) if p["id"] == page_id), None)
    if choice is None or page is None:
        raise ChannelFormError("That Page is not one this sign-in listed: connect with Facebook again.")
    if not (facebook or instagram):
        raise ChannelFormError("Choose the Page, its Instagram account, or both.")
    if instagram and not page["instagram_id"]:
        raise ChannelFormError(f"{page['name']} has no Instagram business account linked to it.")
    credentials = {"access_token": page["access_token"], "graph_url": settings.META_GRAPH_URL.rstrip("/")}
    connected = []
    if facebook:
        connected.append(
            connect_authorized(scope, choice.brand_id, Network.FACEBOOK.value, page["name"], page_id, credentials)
        )
    if instagram:
        handle = page["instagram_username"]
        name, extra = (f"@{handle}", {"username": handle}) if handle else (f"Instagram of {page['name']}", {})
        connected.append(
            connect_authorized(
                scope, choice.brand_id, Network.INSTAGRAM.value, name, page["instagram_id"], credentials | extra
            )
        )
    return connected


def start_threads(scope: Scope, brand_id: int, redirect_uri: str) -> tuple[str, PendingAuthorization]:
    """Threads' consent page for this admin, and what to keep in their session until they come back."""
    pending = oauth_flow.begin(scope, Network.THREADS.value, brand_id, redirect_uri)
    if not threads_configured():
        raise ChannelFormError(
            "Threads is not set up here: the operator must set HUBBUB_THREADS_APP_ID and its secret."
        )
    query = {
        "client_id": settings.THREADS_APP_ID,
        "redirect_uri": redirect_uri,
        "scope": THREADS_SCOPES,
        "response_type": "code",
        "state": pending.state,
    }
    return f"{settings.THREADS_AUTHORIZE_URL}?{urlencode(query)}", pending


def finish_threads(scope: Scope, pending: PendingAuthorization | None, code: str, state: str) -> tuple[Channel, str]:
    """The admin came back from Threads with a code: a long-lived token, the account, connected."""
    pending = oauth_flow.claim(scope, pending, Network.THREADS.value, state)
    api = settings.THREADS_API_URL.rstrip("/")
    body = {
        "client_id": settings.THREADS_APP_ID,
        "client_secret": settings.THREADS_APP_SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": pending.redirect_uri,
        "code": code,
    }
    short = _token(oauth_flow.token_request("Threads", "POST", f"{api}/oauth/access_token", data=body), "Threads")
    params = {"grant_type": "th_exchange_token", "client_secret": settings.THREADS_APP_SECRET, "access_token": short}
    long_lived = oauth_flow.token_request("Threads", "GET", f"{api}/access_token", params=params)
    token = _token(long_lived, "Threads")
    me = oauth_flow.token_request(
        "Threads",
        "GET",
        f"{api}/v1.0/me",
        params={"fields": "id,username"},
        headers={"Authorization": f"Bearer {token}"},
    )
    user_id, username = oauth_flow.text_field(me, "id", "Threads"), oauth_flow.text_field(me, "username", "Threads")
    credentials: dict[str, Any] = {"access_token": token, "graph_url": f"{api}/v1.0", "username": username}
    if isinstance(long_lived.get("expires_in"), int):
        credentials["expires_at"] = int(time.time()) + long_lived["expires_in"]
    return connect_authorized(scope, pending.brand_id, Network.THREADS.value, f"@{username}", user_id, credentials)


def fresh_threads_credentials(channel: Channel) -> dict[str, Any]:
    """The Threads channel's credentials with a token that has more than a week left, renewed if need be.
    ChannelError when it cannot be: `reconnect_needed` when Threads refused the renewal (the channel is marked)."""
    return token_renewal.fresh_credentials(channel, "Threads", _threads_due, _threads_renew)


def _threads_due(credentials: dict[str, Any]) -> bool:
    expires_at = credentials.get("expires_at")
    if not credentials.get("access_token") or not isinstance(expires_at, int | float):
        return False  # a pasted token: its end is not known
    return expires_at - time.time() < THREADS_RENEW_MARGIN


def _threads_renew(credentials: dict[str, Any]) -> dict[str, Any]:
    """`GET /refresh_access_token`: the new long-lived token and when it expires."""
    api = _VERSION.sub("", str(credentials.get("graph_url") or settings.THREADS_API_URL).rstrip("/"))
    params = {"grant_type": "th_refresh_token", "access_token": str(credentials["access_token"])}
    data = oauth_flow.token_request("Threads", "GET", f"{api}/refresh_access_token", params=params)
    expires_in = data.get("expires_in")
    lasts = expires_in if isinstance(expires_in, int) and expires_in > 0 else THREADS_LONG_LIVED
    return {"access_token": _token(data, "Threads"), "expires_at": int(time.time()) + lasts}


def _token(data: dict[str, Any], name: str) -> str:
    return oauth_flow.text_field(data, "access_token", name)


def _page(row: dict[str, Any]) -> dict[str, str]:
    instagram = row.get("instagram_business_account")
    instagram = instagram if isinstance(instagram, dict) else {}
    return {
        "id": str(row["id"]),
        "name": str(row.get("name") or row["id"])[:150],
        "access_token": str(row.get("access_token") or ""),
        "instagram_id": str(instagram.get("id") or ""),
        "instagram_username": str(instagram.get("username") or ""),
    }
