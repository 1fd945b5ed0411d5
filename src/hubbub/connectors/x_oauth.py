"""Connecting an X account with "Connect X account" (OAuth 2.0 Authorization Code with PKCE), and keeping its
token fresh.

- **Connect.** The admin goes to X's consent page (`X_AUTHORIZE_URL`) with the app's client id, the scopes
  below, a `state` and the S256 challenge of a verifier kept in their session; X sends them back with a code,
  which `POST {X_API_URL}/2/oauth2/token` trades (with the verifier, and HTTP Basic client id/secret for a
  confidential client) for an access token of two hours and a refresh token. `GET /2/users/me` names the
  account; `channel_admin.connect_authorized` tests it, saves it encrypted and audits it.
- **Refresh.** Before any request of a poll or a send (`x.py` asks `fresh_credentials`), a token expiring
  within `REFRESH_MARGIN` is renewed with `grant_type=refresh_token`. X rotates the refresh token: the old one
  is spent, so one refresh at a time per channel and the new pair is saved before it is used
  (`token_renewal`, shared with Threads). A refused refresh (400 `invalid_grant`, 401: revoked, or unused for
  months) marks the channel "reconnect needed", audited, which puts it in front of the brand's admins (the
  navigation's warning, Settings → Channels) and stops polling; X being unreachable is only a failed poll.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from hubbub.connectors import oauth_flow, token_renewal
from hubbub.connectors.channel_admin import ChannelFormError, connect_authorized
from hubbub.connectors.models import Channel, Network
from hubbub.connectors.oauth_flow import PendingAuthorization, TokenRequestError
from hubbub.tenancy.scoping import Scope

SCOPES = "tweet.read tweet.write users.read dm.read dm.write offline.access"
REFRESH_MARGIN = 300  # seconds before expiry a token is renewed: longer than any poll or send


def configured() -> bool:
    """Whether the operator set the X app's client id (the secret is optional: a public client has none)."""
    return bool(settings.X_CLIENT_ID)


def start(scope: Scope, brand_id: int, redirect_uri: str) -> tuple[str, PendingAuthorization]:
    """X's consent page for this admin, and what to keep in their session until they come back."""
    pending = oauth_flow.begin(scope, Network.X.value, brand_id, redirect_uri, pkce=True)
    if not configured():
        raise ChannelFormError("X is not set up here: the operator must set HUBBUB_X_CLIENT_ID (and its secret).")
    query = {
        "response_type": "code",
        "client_id": settings.X_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": pending.state,
        "code_challenge": pending.code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{settings.X_AUTHORIZE_URL}?{urlencode(query)}", pending


def finish(scope: Scope, pending: PendingAuthorization | None, code: str, state: str) -> tuple[Channel, str]:
    """The admin came back from X with a code: trade it for tokens, learn the account, connect it."""
    pending = oauth_flow.claim(scope, pending, Network.X.value, state)
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending.redirect_uri,
        "code_verifier": pending.code_verifier,
    }
    api_url = settings.X_API_URL.rstrip("/")
    credentials = {**_tokens(api_url, body), "api_url": api_url}
    me = oauth_flow.token_request(
        "X", "GET", f"{api_url}/2/users/me", headers={"Authorization": f"Bearer {credentials['access_token']}"}
    )
    data = me.get("data")
    user: dict[str, Any] = data if isinstance(data, dict) else {}
    credentials["user_id"] = oauth_flow.text_field(user, "id", "X")
    name = "@" + oauth_flow.text_field(user, "username", "X")
    return connect_authorized(scope, pending.brand_id, Network.X.value, name, credentials["user_id"], credentials)


def fresh_credentials(channel: Channel) -> dict[str, Any]:
    """The channel's credentials with an access token that outlives the next request, renewed if need be.
    ChannelError when it cannot be: `reconnect_needed` when X refused the refresh token (the channel is marked)."""
    return token_renewal.fresh_credentials(channel, "X", _due, _renew)


def _due(credentials: dict[str, Any]) -> bool:
    expires_at = credentials.get("expires_at")
    if not credentials.get("refresh_token") or not isinstance(expires_at, int | float):
        return False  # a pasted token: it lasts until it is revoked
    return expires_at - time.time() < REFRESH_MARGIN


def _renew(credentials: dict[str, Any]) -> dict[str, Any]:
    if not configured():
        raise TokenRequestError("HUBBUB_X_CLIENT_ID is not set, so Hubbub cannot renew X tokens.", refused=False)
    body = {"grant_type": "refresh_token", "refresh_token": str(credentials["refresh_token"])}
    return _tokens(str(credentials.get("api_url") or settings.X_API_URL).rstrip("/"), body)


def _tokens(api_url: str, body: dict[str, str]) -> dict[str, Any]:
    """`POST /2/oauth2/token`: the access token, the (rotated) refresh token and when the access token expires."""
    auth = (settings.X_CLIENT_ID, settings.X_CLIENT_SECRET) if settings.X_CLIENT_SECRET else None
    data = oauth_flow.token_request(
        "X", "POST", f"{api_url}/2/oauth2/token", data={**body, "client_id": settings.X_CLIENT_ID}, auth=auth
    )
    tokens: dict[str, Any] = {"access_token": oauth_flow.text_field(data, "access_token", "X")}
    if data.get("refresh_token"):
        tokens["refresh_token"] = str(data["refresh_token"])
    expires_in = data.get("expires_in")
    if isinstance(expires_in, int) and expires_in > 0:
        tokens["expires_at"] = int(time.time()) + expires_in
    return tokens
