"""The "Connect HubSpot" button: HubSpot's OAuth 2.0 authorization-code flow.

1. `start_authorization` (admin only, a POST): stores an `OAuthState` bound to the user and the
   organisation — single-use, expiring after `STATE_TTL` — and returns HubSpot's authorize URL with the
   scopes the sync needs and `state=<id>.<secret>` (only a hash of the secret is stored).
2. HubSpot shows its consent screen and sends the browser back to the callback with `code` and `state`,
   or with `error` (e.g. `access_denied`).
3. `complete_authorization`: the state must be known, match (constant-time), belong to this user and
   organisation, be unexpired and unused; it is used up in one conditional UPDATE *before* the code is
   exchanged, so a replayed callback stores nothing. The code is exchanged at `/oauth/v1/token` and the
   tokens are stored through `hubspot_connection.connect_hubspot` (encrypted, audit-logged), which reads the portal from
   the token information endpoint, as for tokens given to the API. `decline_authorization` handles an
   `error` answer.

Every refusal raises `OAuthFlowError` with a message for the page and a short `reason` for the audit log;
nothing is stored then. Tokens, the code and the client secret never reach a message or a log line.
Every step (start, callback, decline) needs the admin role: connecting points the customer sync — the whole
customer list — at a HubSpot account of the connector's choosing. Supervisors run the sync, not the connection.
The app's client id/secret and the URLs come from settings (`HUBBUB_HUBSPOT_*`, docs/operations.md), never
from a request; every call goes through `hubbub.outbound_http`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from django.conf import settings
from django.utils import timezone

from hubbub.connectors import hubspot
from hubbub.connectors.models import Channel
from hubbub.crm import hubspot_connection
from hubbub.crm.models import OAuthState
from hubbub.outbound_http import OutboundError
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

log = logging.getLogger("hubbub.crm.hubspot_oauth")

PROVIDER = "hubspot"
STATE_TTL = timedelta(minutes=10)
# the user waits on the callback: fewer retries than the background sync
INTERACTIVE_RETRIES = hubspot_connection.INTERACTIVE_RETRIES


@dataclass(frozen=True)
class AppConfig:
    """The HubSpot app Hubbub is registered as (its Auth page in HubSpot's developer account)."""

    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str = hubspot.DEFAULT_AUTHORIZE_URL
    scopes: tuple[str, ...] = hubspot.OAUTH_SCOPES
    redirect_uri: str = ""  # empty: derived from the request (…/customers/hubspot/callback/)


REQUIRED_SETTINGS = {
    "HUBSPOT_CLIENT_ID": "HUBBUB_HUBSPOT_CLIENT_ID",
    "HUBSPOT_CLIENT_SECRET": "HUBBUB_HUBSPOT_CLIENT_SECRET",
}


def missing_settings() -> list[str]:
    """The environment variables still to set before the button can work."""
    return [env for name, env in REQUIRED_SETTINGS.items() if not getattr(settings, name, "")]


def app_config() -> AppConfig | None:
    if missing_settings():
        return None
    return AppConfig(
        client_id=settings.HUBSPOT_CLIENT_ID,
        client_secret=settings.HUBSPOT_CLIENT_SECRET,
        authorize_url=getattr(settings, "HUBSPOT_AUTHORIZE_URL", "") or hubspot.DEFAULT_AUTHORIZE_URL,
        scopes=tuple(getattr(settings, "HUBSPOT_SCOPES", None) or hubspot.OAUTH_SCOPES),
        redirect_uri=getattr(settings, "HUBSPOT_REDIRECT_URI", ""),
    )


class OAuthFlowError(Exception):
    """A refused step: `str()` is what the user reads (what happened, what to try); `reason` is for the audit."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _config_or_fail() -> AppConfig:
    config = app_config()
    if config is None:
        raise OAuthFlowError(
            "HubSpot is not configured on this server: set " + " and ".join(missing_settings()) + ".",
            "not_configured",
        )
    return config


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_authorization(scope: Scope, redirect_uri: str) -> str:
    """Remember who is connecting, and return HubSpot's authorize URL to send the browser to (admin only)."""
    require_role(scope, Role.ADMIN)
    config = _config_or_fail()
    now = timezone.now()
    OAuthState.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()  # keep the table small
    secret = secrets.token_urlsafe(32)
    row = OAuthState.objects.create(
        organization_id=scope.organization_id,
        user=scope.user,
        provider=PROVIDER,
        secret_hash=_digest(secret),
        redirect_uri=redirect_uri,
        expires_at=now + STATE_TTL,
    )
    return hubspot.authorize_url(
        config.client_id, redirect_uri, f"{row.pk}.{secret}", config.scopes, config.authorize_url
    )


def _claim_state(scope: Scope, state: str) -> OAuthState:
    """The pending authorisation `state` names, used up; OAuthFlowError if it is not this user's to use."""
    pk, _, secret = (state or "").partition(".")
    row = None
    if pk.isdigit() and len(pk) <= 18 and secret:
        row = OAuthState.objects.filter(pk=int(pk), provider=PROVIDER).first()
    # Compare even when no row was found, so both answers take the same time.
    if not hmac.compare_digest(row.secret_hash if row else _digest(""), _digest(secret)) or row is None:
        raise OAuthFlowError(
            "This HubSpot authorisation link is not valid (unknown or altered). Start again with Connect HubSpot.",
            "unknown_state",
        )
    if row.user_id != scope.user.pk:
        raise OAuthFlowError(
            "This HubSpot authorisation was started by another user. Start it yourself with Connect HubSpot.",
            "other_user",
        )
    if row.organization_id != scope.organization_id:
        raise OAuthFlowError(
            "This HubSpot authorisation was started in another organisation. Switch back to that organisation "
            "and start again with Connect HubSpot.",
            "other_organization",
        )
    now = timezone.now()
    if row.used_at is None and row.expires_at <= now:
        raise OAuthFlowError(
            f"This HubSpot authorisation expired (it is valid for {int(STATE_TTL.total_seconds() // 60)} minutes). "
            "Start again with Connect HubSpot.",
            "state_expired",
        )
    if not OAuthState.objects.filter(pk=row.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now):
        raise OAuthFlowError(
            "This HubSpot authorisation was already used. If HubSpot is not connected yet, start again with "
            "Connect HubSpot.",
            "state_used",
        )
    return row


def _record_refusal(scope: Scope, exc: OAuthFlowError) -> None:
    audit(scope.organization_id, scope.user, "crm.hubspot.oauth_failed", None, reason=exc.reason)
    log.info("hubspot authorisation refused for organisation %s: %s", scope.organization_id, exc.reason)


def complete_authorization(
    scope: Scope,
    state: str,
    code: str,
    http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Channel:
    """HubSpot sent the browser back with a code: check the state, exchange the code, store the tokens
    (admin only)."""
    require_role(scope, Role.ADMIN)
    try:
        config = _config_or_fail()
        row = _claim_state(scope, state)
        if not code:
            raise OAuthFlowError("HubSpot sent no authorisation code. Start again with Connect HubSpot.", "no_code")
        client = hubspot.HubSpotClient(
            {"client_id": config.client_id, "client_secret": config.client_secret},
            http=http,
            sleep=sleep,
            max_retries=INTERACTIVE_RETRIES,
        )
        try:
            client.exchange_code(code, row.redirect_uri)
        except hubspot.HubSpotError as exc:
            raise OAuthFlowError(
                f"HubSpot did not accept the authorisation ({exc}). Nothing was stored; start again with "
                "Connect HubSpot. If it fails again, check that the app's redirect URL and client secret "
                "match this server's settings.",
                "token_exchange",
            ) from exc
        except httpx.HTTPError as exc:
            why = exc.outcome if isinstance(exc, OutboundError) else type(exc).__name__
            raise OAuthFlowError(
                f"HubSpot could not be reached ({why}). Nothing was stored; try again in a minute.",
                "unreachable",
            ) from exc
    except OAuthFlowError as exc:
        _record_refusal(scope, exc)
        raise
    credentials = {
        "access_token": client.creds["access_token"],
        "refresh_token": client.creds["refresh_token"],
        "expires_at": client.creds["expires_at"],
        "client_id": config.client_id,
        "client_secret": config.client_secret,
    }
    # The portal is read from the token information by connect_hubspot (as for the API); if HubSpot does
    # not answer it, the tokens work and the stored portal is kept.
    return hubspot_connection.connect_hubspot(scope, credentials, via="oauth", client=client)


def decline_authorization(scope: Scope, state: str, error: str, description: str = "") -> str:
    """HubSpot sent the browser back with `error` instead of a code: use the state up (if it is this
    user's), store nothing, and say what happened (admin only, like the rest of the flow)."""
    require_role(scope, Role.ADMIN)
    try:
        _claim_state(scope, state)
    except OAuthFlowError:
        pass  # nothing to clean up; the message below is the same
    audit(scope.organization_id, scope.user, "crm.hubspot.oauth_declined", None, error=error[:64])
    if error == "access_denied":
        return (
            "HubSpot access was not granted, so nothing was connected. To connect, click Connect HubSpot again "
            "and approve access (installing an app in HubSpot needs a Super Admin or App Marketplace access)."
        )
    detail = f": {description[:200]}" if description else ""
    return f"HubSpot answered with an error ({error[:64]}{detail}). Nothing was connected; try Connect HubSpot again."
