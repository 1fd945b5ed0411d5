"""What every "Connect with <network>" button shares: the authorization kept in the admin's session between
sending them to the network and their return, the `state` that ties the callback to that session (compared in
constant time, used once: the view pops it before looking), PKCE for networks that take it, and the one way
Hubbub asks a token endpoint (through the outbound client; a refusal says why in the admin's words, never with
the network's response body).

The network modules (`mastodon_oauth`, `x_oauth`, `meta_oauth`) know their own URLs and wire formats; the
connected account then goes through `channel_admin` like a pasted credential (tested, saved, audited).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from hubbub.connectors.channel_admin import ChannelFormError
from hubbub.connectors.http import shared_client
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role

# An OAuth `error` value (RFC 6749 §5.2) is shown to the admin only when it looks like one.
_ERROR_CODE = re.compile(r"[a-z_]{3,40}")
_EXPLAINED = {
    "invalid_grant": "the code or token was already used, has expired or was revoked",
    "invalid_client": "it refused Hubbub's client id or secret (check the operator's settings)",
    "invalid_request": "the code or token was not valid",
    "unauthorized_client": "it refused Hubbub's client id or secret, or this kind of authorization (check the "
    "operator's settings)",
}


# Meta's token endpoints take secrets in the query string (`client_secret`, `code`, the token to exchange), and
# httpx logs every request URL at INFO: an operator who turns that on must not find them in the log.
_SECRET_IN_QUERY = re.compile(r"([?&](?:client_secret|code|access_token|fb_exchange_token)=)[^&\s\"']+")


class _RedactQuerySecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _SECRET_IN_QUERY.search(message):
            record.msg, record.args = _SECRET_IN_QUERY.sub(r"\1[redacted]", message), None
        return True


if not any(isinstance(f, _RedactQuerySecrets) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_RedactQuerySecrets())


def session_key(network: str) -> str:
    """Where an authorization under way to `network` waits in the admin's session."""
    return f"oauth_pending:{network}"


@dataclass
class PendingAuthorization:
    """What Hubbub keeps in the admin's session between sending them to the network and their return."""

    network: str
    brand_id: int
    redirect_uri: str
    state: str
    code_verifier: str = ""  # PKCE: only its S256 hash went to the network
    extra: dict[str, str] = field(default_factory=dict)  # what else the network module needs back

    def to_session(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_session(cls, data: Any) -> PendingAuthorization | None:
        try:
            return cls(**data) if isinstance(data, dict) else None
        except TypeError:
            return None

    @property
    def code_challenge(self) -> str:
        """The S256 PKCE challenge of the verifier (RFC 7636 §4.2): base64url of its SHA-256, no padding."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def begin(
    scope: Scope, network: str, brand_id: int, redirect_uri: str, *, pkce: bool = False, **extra: str
) -> PendingAuthorization:
    """An admin starts connecting an account of one of their brands: a fresh state (and PKCE verifier)."""
    require_role(scope, Role.ADMIN)
    if brand_id not in scope.brand_ids:
        raise PermissionDenied("Not one of your brands.")
    verifier = secrets.token_urlsafe(64) if pkce else ""  # 86 characters: RFC 7636 wants 43 to 128
    return PendingAuthorization(network, brand_id, redirect_uri, secrets.token_urlsafe(24), verifier, dict(extra))


def claim(scope: Scope, pending: PendingAuthorization | None, network: str, state: str) -> PendingAuthorization:
    """The callback's `state` must be the one this admin's session holds for this network."""
    require_role(scope, Role.ADMIN)
    if (
        pending is None
        or pending.network != network
        or not secrets.compare_digest(state.encode(), pending.state.encode())
    ):
        raise ChannelFormError("This authorization was not started here, or has expired: connect the account again.")
    return pending


class TokenRequestError(ChannelFormError):
    """A token endpoint did not give a token. `refused`: the network said no (a 4xx: the code or refresh token is
    spent, or the client is not allowed), so asking again cannot help; otherwise it could not be asked (network,
    5xx, an answer that is not JSON) and a later try may work."""

    def __init__(self, reason: str, *, refused: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


def token_request(name: str, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """One request to `name`'s token (or account) endpoint: its JSON object, or TokenRequestError saying why."""
    try:
        response = shared_client().request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise TokenRequestError(f"Could not reach {name} ({type(exc).__name__}).", refused=False) from exc
    try:
        data = response.json()
    except ValueError:
        data = None
    if 400 <= response.status_code < 500:
        raise TokenRequestError(f"{name} refused: {_why(response.status_code, data)}.", refused=True)
    if response.status_code >= 400 or not isinstance(data, dict):
        raise TokenRequestError(f"{name} answered HTTP {response.status_code} without a token.", refused=False)
    return data


def _why(status: int, data: Any) -> str:
    """The refusal in the admin's words: an OAuth error code (explained when known) or a Graph error code."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str) and _ERROR_CODE.fullmatch(error):
        return f"{_EXPLAINED.get(error, 'the request was refused')} ({error})"
    if isinstance(error, dict) and isinstance(error.get("code"), int):
        return f"the code was not accepted (HTTP {status}, error code {error['code']})"
    return f"HTTP {status}"


def text_field(data: dict[str, Any], key: str, name: str) -> str:
    """A string (or number) the network's answer must hold, as text; ChannelFormError when it is missing."""
    value = data.get(key)
    if isinstance(value, int | str) and str(value):
        return str(value)
    raise ChannelFormError(f"{name}'s answer had no {key}: connect the account again.")
