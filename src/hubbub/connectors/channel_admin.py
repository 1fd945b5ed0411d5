"""What an admin does with channels: connect an account, test it, disconnect it. The Settings → Channels page
and `hubbub channels` both call these, so the role check and the audit entry are the same everywhere.

Connecting tests the credentials first (`Connector.check`): an account that cannot be reached or refuses the
token is not saved, and the admin is told why. Connecting an account that is already there (the same network
and name in the organisation) replaces its credentials and clears its trouble: that is how a channel that
needs reconnecting is repaired. Secrets never leave here unmasked (`masked_credentials`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet

from hubbub.connectors.base import ChannelError, connector_for
from hubbub.connectors.email_imap import TLS_MODES, MailSettings
from hubbub.connectors.models import Channel, ChannelStatus, Network
from hubbub.outbound_http import OutboundError, validate_user_url
from hubbub.tenancy.models import Brand, Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit

SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "app_password",
    "password",
    "smtp_password",
    "token",
    "client_secret",
    "session",
)
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,256}")
_HANDLE = re.compile(r"(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]")
_APP_PASSWORD = re.compile(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}")
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")  # a name or an IPv4 address
_EMAIL_FIELDS = ("imap_host", "imap_port", "smtp_host", "smtp_port", "tls", "username", "address")
FEED_NETWORKS = (Network.RSS.value, Network.FORUM.value, Network.REVIEW.value)


class ChannelFormError(ValueError):
    """Input an admin can correct; the message says what to change."""


def channels_for(scope: Scope) -> QuerySet[Channel]:
    """The organisation's channels of the brands this user may see, by brand then network."""
    return (
        Channel.objects.filter(organization_id=scope.organization_id, brand_id__in=scope.brand_ids)
        .select_related("brand")
        .order_by("brand__name", "network", "name")
    )


def get_channel(scope: Scope, channel_id: int) -> Channel:
    """One of the user's channels, or PermissionDenied-free absence: `Channel.DoesNotExist` (a 404)."""
    return channels_for(scope).get(pk=channel_id)


def connect_mastodon(scope: Scope, brand_id: int, base_url: str, access_token: str) -> tuple[Channel, str]:
    """Connect (or reconnect) the brand's Mastodon account; returns the channel and what the test found."""
    require_role(scope, Role.ADMIN)
    brand = _brand(scope, brand_id)
    try:
        base_url = validate_user_url(base_url.strip()).rstrip("/")
    except OutboundError as exc:
        raise ChannelFormError(f"The instance URL cannot be used: {exc}") from exc
    token = access_token.strip()
    if not _TOKEN.fullmatch(token):
        raise ChannelFormError("That is not a Mastodon access token (letters, digits, - and _ only).")
    probe = Channel(organization_id=scope.organization_id, brand=brand, network=Network.MASTODON, name="")
    probe.credentials = {"base_url": base_url, "access_token": token}
    description = _check_or_explain(probe)
    account = re.fullmatch(r"@(\S+) on (\S+)", description)
    name = f"@{account.group(1)}@{account.group(2)}" if account else base_url  # a handle is per instance
    return _save_connected(scope, brand, Network.MASTODON, name, probe.credentials, description), description


def connect_bluesky(
    scope: Scope, brand_id: int, handle: str, app_password: str, service: str = "", search: str = ""
) -> tuple[Channel, str]:
    """Connect (or reconnect) the brand's Bluesky account with an app password; `search` adds listening."""
    require_role(scope, Role.ADMIN)
    brand = _brand(scope, brand_id)
    handle = handle.strip().lstrip("@").lower()
    if not _HANDLE.fullmatch(handle):
        raise ChannelFormError("That is not a Bluesky handle (like acme.bsky.social or acme.com).")
    password = app_password.strip()
    if not _APP_PASSWORD.fullmatch(password):
        raise ChannelFormError(
            "That is not an app password (four groups of four: xxxx-xxxx-xxxx-xxxx). Create one in Bluesky → "
            "Settings → Privacy and security → App passwords; Hubbub never takes the account's own password."
        )
    try:
        service = validate_user_url(service.strip() or "https://bsky.social").rstrip("/")
    except OutboundError as exc:
        raise ChannelFormError(f"The PDS address cannot be used: {exc}") from exc
    credentials = {"handle": handle, "app_password": password, "service": service}
    if search.strip():
        credentials["search"] = search.strip()[:300]
    probe = Channel(organization_id=scope.organization_id, brand=brand, network=Network.BLUESKY, name="")
    probe.credentials = credentials
    description = _check_or_explain(probe)  # logs in: the probe's credentials now hold the session too
    return _save_connected(scope, brand, Network.BLUESKY, f"@{handle}", probe.credentials, description), description


def connect_feed(scope: Scope, brand_id: int, network: str, url: str, keywords: str = "") -> tuple[Channel, str]:
    """Follow a blog, forum or review site's RSS/Atom feed for the brand; `keywords` (a listening query) keeps
    only the entries that match. Named by the feed's host and path: a query string may carry a private token."""
    require_role(scope, Role.ADMIN)
    brand = _brand(scope, brand_id)
    if network not in FEED_NETWORKS:
        raise ChannelFormError("Choose what the feed is: a blog, a forum or a review site.")
    try:
        url = validate_user_url(url.strip())
    except OutboundError as exc:
        raise ChannelFormError(f"The feed address cannot be used: {exc}") from exc
    credentials = {"url": url, "keywords": keywords.strip()[:500]} if keywords.strip() else {"url": url}
    probe = Channel(organization_id=scope.organization_id, brand=brand, network=network, name="")
    probe.credentials = credentials
    description = _check_or_explain(probe)
    parts = httpx.URL(url)
    name = f"{parts.host}{parts.path}"[:200]
    return _save_connected(scope, brand, network, name, credentials, description), description


def connect_email(scope: Scope, brand_id: int, fields: Mapping[str, str]) -> tuple[Channel, str]:
    """Connect (or reconnect) the brand's support mailbox: IMAP in, SMTP out. Both hosts pass the outbound address
    policy before any connection (no private or loopback address unless the operator allows it), then a login
    opens the folder; only a mailbox that works is saved, named by its address."""
    require_role(scope, Role.ADMIN)
    brand = _brand(scope, brand_id)
    credentials = _email_credentials(fields)
    try:
        mail = MailSettings.from_credentials(credentials)
        mail.check_host(mail.imap_host, mail.imap_port, mail.tls)
        mail.check_host(mail.smtp_host, mail.smtp_port, mail.smtp_tls)
    except ChannelError as exc:
        raise ChannelFormError(f"The mailbox cannot be used: {exc.reason}") from exc
    probe = Channel(organization_id=scope.organization_id, brand=brand, network=Network.EMAIL, name="")
    probe.credentials = credentials
    description = _check_or_explain(probe)
    return _save_connected(scope, brand, Network.EMAIL, mail.address, credentials, description), description


def _email_credentials(fields: Mapping[str, str]) -> dict[str, Any]:
    """The connect form's fields as an email channel's credentials, or ChannelFormError saying what to fix."""
    get = {key: str(fields.get(key, "")).strip() for key in _EMAIL_FIELDS}
    try:
        validate_email(get["address"])
    except ValidationError as exc:
        raise ChannelFormError("The brand's address must be an email address, like support@acme.com.") from exc
    for key in ("imap_host", "smtp_host"):
        if get[key] and not _HOST.fullmatch(get[key]):
            raise ChannelFormError(f"{get[key]!r} is not a host name (like imap.acme.com).")
    for key in ("imap_port", "smtp_port"):
        if get[key] and not (get[key].isdigit() and 0 < int(get[key]) < 65536):
            raise ChannelFormError("A port is a number from 1 to 65535 (or empty for the usual one).")
    if get["tls"] not in TLS_MODES:
        raise ChannelFormError("Choose how the connection is secured: SSL/TLS, STARTTLS or none.")
    if not (get["imap_host"] and get["username"] and str(fields.get("password", ""))):
        raise ChannelFormError("The IMAP server, the user name and the password are needed.")
    credentials: dict[str, Any] = {k: v for k, v in get.items() if v}
    credentials["address"] = get["address"].lower()
    credentials["password"] = str(fields.get("password", ""))  # as typed: a password may end with a space
    return credentials


def connect_authorized(
    scope: Scope, brand_id: int, network: str, name: str, account_id: str, credentials: dict[str, Any]
) -> tuple[Channel, str]:
    """Connect (or reconnect) an account whose token came from the network's own sign-in (X, Facebook, Instagram,
    Threads: `x_oauth`, `meta_oauth`). Tested like a pasted token; found again by its account id, so a renamed
    account reconnects its own channel, and two accounts of one name stay two channels."""
    require_role(scope, Role.ADMIN)
    brand = _brand(scope, brand_id)
    probe = Channel(
        organization_id=scope.organization_id, brand=brand, network=network, name=name, account_id=account_id
    )
    probe.credentials = credentials
    description = _check_or_explain(probe)
    same = Channel.objects.filter(organization_id=scope.organization_id, network=network)
    known = same.filter(account_id=account_id).order_by("id").first()
    if known is not None:
        name = known.name
    elif same.filter(name=name).exclude(account_id="").exists():
        name = f"{name} · {account_id}"[:200]  # another account of that name is connected already
    channel = _save_connected(scope, brand, network, name, probe.credentials, description, account_id)
    return channel, description


def check_channel(scope: Scope, channel: Channel) -> str:
    """ "Test connection": what the network says about the account, or ChannelError. A channel that works
    again after trouble is marked connected (and polled at once); one whose credentials are refused is marked
    reconnect-needed. Either change of state is audited."""
    require_role(scope, Role.ADMIN)
    connector = connector_for(channel.network)
    if connector is None:
        raise ChannelError(f"Hubbub cannot test {channel.get_network_display()} channels: it only imports them.")
    try:
        description = connector.check(channel)
    except ChannelError as exc:
        if exc.reconnect_needed and channel.status != ChannelStatus.RECONNECT_NEEDED:
            Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.RECONNECT_NEEDED, last_error=exc.reason)
            audit(scope.organization_id, scope.user, "channel.reconnect_needed", channel, reason=exc.reason)
        raise
    if channel.status != ChannelStatus.CONNECTED:
        Channel.objects.filter(pk=channel.pk).update(
            status=ChannelStatus.CONNECTED, last_error="", consecutive_failures=0, next_poll_at=None
        )
        audit(scope.organization_id, scope.user, "channel.recovered", channel, found=description)
    return description


def disconnect_channel(scope: Scope, channel: Channel) -> None:
    """Stop polling and posting through the channel and forget its credentials; its messages stay."""
    require_role(scope, Role.ADMIN)
    with transaction.atomic():
        channel.is_active = False
        channel.credentials = {}
        channel.cursor = {}
        channel.save(update_fields=["is_active", "credentials_encrypted", "cursor"])
        audit(scope.organization_id, scope.user, "channel.disconnected", channel, network=channel.network)


def masked_credentials(channel: Channel) -> dict[str, str]:
    """The channel's settings for display: addresses in full, secrets as their last four characters."""
    shown = {}
    for key, value in sorted(channel.credentials.items()):
        if key in SECRET_KEYS:
            text = str(value)
            shown[key] = "••••" + text[-4:] if len(text) > 8 else "••••"
        elif key == "url" and "?" in str(value):  # a private feed's token travels in its query string
            shown[key] = str(value).split("?", 1)[0] + "?••••"
        elif isinstance(value, str | int | float | bool):
            shown[key] = str(value)
    return shown


def _brand(scope: Scope, brand_id: int) -> Brand:
    if brand_id not in scope.brand_ids:
        raise PermissionDenied("Not one of your brands.")
    return Brand.objects.get(pk=brand_id, organization_id=scope.organization_id)


def _check_or_explain(probe: Channel) -> str:
    connector = connector_for(probe.network)
    if connector is None:
        raise ChannelFormError(f"Hubbub has no {probe.network} connector.")
    try:
        return connector.check(probe)
    except ChannelError as exc:
        raise ChannelFormError(f"The account could not be used: {exc.reason}") from exc


def _save_connected(
    scope: Scope,
    brand: Brand,
    network: str,
    name: str,
    credentials: dict[str, Any],
    description: str,
    account_id: str = "",
) -> Channel:
    with transaction.atomic():
        channel, created = Channel.objects.select_for_update().get_or_create(
            organization_id=scope.organization_id, network=network, name=name, defaults={"brand": brand}
        )
        if not created and channel.brand_id not in scope.brand_ids:
            raise PermissionDenied("This account is connected to a brand you do not manage.")
        channel.brand = brand
        channel.credentials = credentials
        channel.account_id = account_id or channel.account_id
        channel.is_active = True
        channel.status = ChannelStatus.CONNECTED
        channel.last_error = ""
        channel.consecutive_failures = 0
        channel.next_poll_at = None  # polled at the next tick
        channel.save()
        verb = "channel.connected" if created else "channel.reconnected"
        audit(scope.organization_id, scope.user, verb, channel, network=network, account=description)
    return channel
