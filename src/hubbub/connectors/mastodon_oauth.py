"""Connecting a Mastodon account with OAuth instead of a pasted token: Hubbub registers itself as an
application on the instance, sends the admin to the instance's consent page, and trades the code it gets back
for the account's access token, which then goes through the same `channel_admin.connect_mastodon` as a pasted
one (tested before it is saved, audited).

What the instance answers is never trusted as a file name: Mastodon.py reads a `client_id` or token that names
an existing file from that file (and would send its content to the instance), so every credential the
instance gives is checked to be token characters before it reaches the library. The session, `state` and
admin-role plumbing is `oauth_flow`'s, shared with the other networks' sign-ins.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from hubbub.connectors import oauth_flow
from hubbub.connectors.channel_admin import ChannelFormError, connect_mastodon
from hubbub.connectors.models import Channel, Network
from hubbub.connectors.oauth_flow import PendingAuthorization
from hubbub.outbound_http import OutboundError, outbound_session, validate_user_url
from hubbub.tenancy.scoping import Scope

if TYPE_CHECKING:
    from mastodon import Mastodon

SCOPES = ["read:accounts", "read:notifications", "read:statuses", "write:statuses"]
_CREDENTIAL = re.compile(r"[A-Za-z0-9_\-]{8,256}")


def _refusals() -> tuple[type[BaseException], ...]:
    """How Mastodon.py fails when the instance refuses or answers oddly. RecursionError: its version check
    calls itself without end when the instance's /api/v1/instance fails during `log_in`. (Mastodon.py is
    imported here, not with the module: every web process imports this page's module, few connect accounts.)"""
    from mastodon.errors import MastodonError

    return (MastodonError, KeyError, ValueError, RecursionError)


def start(scope: Scope, brand_id: int, base_url: str, redirect_uri: str) -> tuple[str, PendingAuthorization]:
    """Register Hubbub on the instance; return the consent page's URL and what to keep until the callback."""
    pending = oauth_flow.begin(scope, Network.MASTODON.value, brand_id, redirect_uri)
    try:
        base_url = validate_user_url(base_url.strip()).rstrip("/")
    except OutboundError as exc:
        raise ChannelFormError(f"The instance URL cannot be used: {exc}") from exc
    from mastodon import Mastodon

    try:
        client_id, client_secret = Mastodon.create_app(
            "Hubbub", scopes=SCOPES, redirect_uris=redirect_uri, api_base_url=base_url, session=outbound_session()
        )
    except _refusals() as exc:
        raise ChannelFormError(
            "The instance did not register Hubbub as an application; is it a Mastodon server?"
        ) from exc
    if not (_usable(client_id) and _usable(client_secret)):
        raise ChannelFormError("The instance answered with an application id Hubbub cannot use.")
    pending.extra = {"base_url": base_url, "client_id": client_id, "client_secret": client_secret}
    api = _client(pending)
    url = api.auth_request_url(redirect_uris=redirect_uri, scopes=SCOPES, state=pending.state, skip_server_info=True)
    return url, pending


def finish(scope: Scope, pending: PendingAuthorization | None, code: str, state: str) -> tuple[Channel, str]:
    """The admin came back from the instance: trade the code for the token and connect the account."""
    pending = oauth_flow.claim(scope, pending, Network.MASTODON.value, state)
    if not _usable(code):
        raise ChannelFormError("The instance sent back no usable authorization code: connect the account again.")
    try:
        token = _client(pending).log_in(code=code, redirect_uri=pending.redirect_uri, scopes=SCOPES, allow_http=True)
    except _refusals() as exc:
        raise ChannelFormError("The instance refused the authorization code: connect the account again.") from exc
    return connect_mastodon(scope, pending.brand_id, pending.extra["base_url"], str(token))


def _usable(value: Any) -> bool:
    """Token characters only, and not the name of a file here (which Mastodon.py would read)."""
    return isinstance(value, str) and bool(_CREDENTIAL.fullmatch(value)) and not os.path.exists(value)


def _client(pending: PendingAuthorization) -> Mastodon:
    from mastodon import Mastodon

    return Mastodon(
        client_id=pending.extra["client_id"],
        client_secret=pending.extra["client_secret"],
        api_base_url=pending.extra["base_url"],
        session=outbound_session(),
        ratelimit_method="throw",
        version_check_mode="none",
        request_timeout=10,
    )
