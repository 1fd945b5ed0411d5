"""The HubSpot connection of an organisation: its channel, the OAuth tokens (encrypted at rest), connect and
disconnect, and the credential writes that a sync still running on old tokens can never overwrite."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from django.db import transaction

from hubbub.connectors.hubspot import HubSpotClient, HubSpotError, redact
from hubbub.connectors.models import Channel
from hubbub.crm.models import Customer, Interaction, SyncedActivity
from hubbub.tenancy.models import AuditEvent, Brand, Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

# One log channel for everything HubSpot (connection, sync runs, notes), as operators filter it.
log = logging.getLogger("hubbub.crm.sync")

CHANNEL_NAME = "hubspot"
# Credentials that are not secrets: kept after a disconnect (a reconnect of the same portal syncs on
# incrementally) and shown on Customers → HubSpot.
PUBLIC_KEYS = ("hub_id", "hub_domain", "hubspot_user", "scopes", "last_sync_ms")
# Where the tokens come from: a HubSpot portal. Read from HubSpot's token information on every connect.
PORTAL_KEYS = ("hub_id", "hub_domain", "hubspot_user", "scopes")
TOKEN_KEYS = ("access_token", "refresh_token", "expires_at")
# A random id written by every connect: a sync writes credentials back only while it is still the one stored,
# so a sync that outlives a reconnect (or a disconnect) never overwrites the newer tokens with its old copy.
CONNECTION_KEY = "connection_id"
CONNECTED_VERB = "crm.hubspot.connected"
LINKS_RESET_VERB = "crm.hubspot.links_reset"
INTERACTIVE_RETRIES = 2  # a user waits on connect: fewer retries than the background sync


class HubSpotReconnected(HubSpotError):
    """HubSpot was reconnected (or disconnected) while a sync ran: it stops rather than store or use its
    old tokens; the next sync uses the new connection."""

    def __init__(self) -> None:
        super().__init__(
            409, "HubSpot was reconnected or disconnected during the sync; the next sync uses the new connection"
        )


def hubspot_channel(org_id: int) -> Channel | None:
    """The organisation's HubSpot channel, connected or not (`is_active`)."""
    return Channel.objects.filter(organization_id=org_id, network="other", name=CHANNEL_NAME).first()


def connected_hubspot_channel(org_id: int) -> Channel | None:
    """The organisation's HubSpot channel if it is connected (not disconnected), else None."""
    channel = hubspot_channel(org_id)
    return channel if channel is not None and channel.is_active else None


def stored_credentials(channel: Channel) -> dict[str, Any]:
    try:
        return channel.credentials or {}
    except ValueError:  # encrypted under a key no longer configured: treat as nothing stored
        return {}


def portal_of(client: HubSpotClient) -> dict[str, Any]:
    """The portal the client's access token belongs to (`hub_id`, `hub_domain`, `hubspot_user`, `scopes`,
    those HubSpot gives), from its token information endpoint; {} when HubSpot does not answer it."""
    try:
        info = client.token_info()
    except (HubSpotError, httpx.HTTPError) as exc:
        # the status only: HubSpot's answer to a URL that carries the token is never logged
        log.warning(
            "hubspot token information unavailable: %s",
            f"HubSpot {exc.status}" if isinstance(exc, HubSpotError) else type(exc).__name__,
        )
        return {}
    sources = {"hub_id": "hub_id", "hub_domain": "hub_domain", "hubspot_user": "user", "scopes": "scopes"}
    return {key: info[source] for key, source in sources.items() if info.get(source)}


def connect_hubspot(
    scope: Scope, credentials: dict[str, Any], via: str = "api", client: HubSpotClient | None = None
) -> Channel:
    """Store OAuth tokens (encrypted at rest) for the organisation's HubSpot account.

    Called by the "Connect HubSpot" OAuth callback (`hubspot_oauth.complete_authorization`, via="oauth", with
    its client) and by `POST /api/v1/crm/hubspot/connect`. Admins only: connecting points the customer sync
    (the whole customer list) at a HubSpot account of the connector's choosing. Supervisors run the sync, not
    the connection. Both ways read the portal of the tokens from HubSpot (`portal_of`, through `client` or one
    made from `credentials`). Reconnecting the same portal carries on (incremental-sync mark, HubSpot ids);
    tokens of another portal (a different `hub_id` than the one stored) start afresh: the mark is dropped and
    every link to the old portal is reset (`reset_hubspot_links`, audited `crm.hubspot.links_reset`), in the
    same transaction as the new tokens. When HubSpot does not say which portal the tokens belong to, the
    stored portal is kept (not erased: a later connect still compares with it), the links too, and the audit
    entry says `portal_unknown`. Every connect stores a new `connection_id`, which stops a sync still running
    on the old tokens from writing them back.
    """
    require_role(scope, Role.ADMIN)
    brand = Brand.objects.filter(organization_id=scope.organization_id).order_by("id").first()
    if brand is None:
        raise ValueError("Create a brand first.")
    # HubSpot's address is configuration (connectors.hubspot.base_url): a `base_url` given here is not stored.
    tokens = {k: v for k, v in credentials.items() if k not in (*PORTAL_KEYS, CONNECTION_KEY, "base_url")}
    portal = portal_of(client or HubSpotClient(tokens, max_retries=INTERACTIVE_RETRIES))
    with transaction.atomic():
        channel = hubspot_channel(scope.organization_id)
        if channel is None:
            channel = Channel(organization_id=scope.organization_id, brand=brand, network="other", name=CHANNEL_NAME)
        else:
            channel = Channel.objects.select_for_update().get(pk=channel.pk)  # one connect or token write at a time
        old = stored_credentials(channel)
        old_hub, new_hub = old.get("hub_id"), portal.get("hub_id")
        other_portal = bool(old_hub and new_hub) and str(old_hub) != str(new_hub)
        keep = {} if other_portal or "last_sync_ms" not in old else {"last_sync_ms": old["last_sync_ms"]}
        if not new_hub:  # unknown portal: keep what is known of the stored one
            keep.update({k: old[k] for k in PORTAL_KEYS if k in old})
            log.warning(
                "hubspot portal of the new tokens of organisation %s unknown; keeping the stored hub id %s",
                scope.organization_id,
                old_hub,
            )
        channel.credentials = {**keep, **tokens, **portal, CONNECTION_KEY: secrets.token_hex(8)}
        channel.is_active = True
        channel.save()
        audit(
            scope.organization_id,
            scope.user,
            CONNECTED_VERB,
            channel,
            via=via,
            hub_id=new_hub or old_hub,
            hub_domain=portal.get("hub_domain", "") if new_hub else old.get("hub_domain", ""),
            **({"portal_unknown": True} if not new_hub else {}),
        )
        if other_portal:
            reset = reset_hubspot_links(scope.organization_id)
            audit(
                scope.organization_id,
                scope.user,
                LINKS_RESET_VERB,
                channel,
                from_hub_id=old_hub,
                to_hub_id=new_hub,
                links=reset["contacts"] + reset["notes"],
                **reset,
            )
    return channel


def save_credentials(channel_id: int, connection: str | None, changes: dict[str, Any]) -> bool:
    """Write `changes` into the channel's stored credentials — re-read under a row lock, so nothing written
    meanwhile is lost — if the channel is still connected by the connection `connection` (its
    `connection_id` when the caller read it). False, and nothing written, after a reconnect or a disconnect:
    the newer tokens stay."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
        if channel is None or not channel.is_active:
            return False
        stored = stored_credentials(channel)
        if stored.get(CONNECTION_KEY) != connection:
            return False
        channel.credentials = {**stored, **changes}
        channel.save(update_fields=["credentials_encrypted"])
    return True


def token_saver(channel: Channel) -> Callable[[dict[str, Any]], None]:
    """`HubSpotClient.save_tokens` for the channel as read now: stores refreshed tokens with
    `save_credentials`; raises HubSpotReconnected when the channel was reconnected or disconnected since."""
    connection = stored_credentials(channel).get(CONNECTION_KEY)

    def save(creds: dict[str, Any]) -> None:
        if not save_credentials(channel.pk, connection, {k: creds[k] for k in TOKEN_KEYS if k in creds}):
            raise HubSpotReconnected()

    return save


def reset_hubspot_links(org_id: int) -> dict[str, int]:
    """Forget everything that points into the previously connected HubSpot portal, so the next sync
    creates the records in the newly connected one instead of PATCHing ids that do not exist there:
    customers' `hubspot_id` (with `sync_snapshot` and `synced_at`, which describe what that portal
    agreed on — the customers become never-synced: matched by email on the full pull, else created),
    interactions' `hubspot_id`, and the `SyncedActivity` rows (notes written there; conversations and
    calls are logged again in the new portal). Sync conflicts stay as history. Cleared rather than
    scoped by portal: one portal per organisation is connected at a time, and going back to a former
    portal then works like a first sync with it (contacts matched by email; notes logged again).
    Returns how many links were reset: `contacts` (customers), `notes` (SyncedActivity rows, for
    conversations and interactions) and, of those notes, the `interactions` that carried the note id."""
    customers = (
        Customer.objects.filter(organization_id=org_id)
        .exclude(hubspot_id="")
        .update(hubspot_id="", sync_snapshot={}, synced_at=None)
    )
    interactions = Interaction.objects.filter(organization_id=org_id).exclude(hubspot_id="").update(hubspot_id="")
    activities, _ = SyncedActivity.objects.filter(organization_id=org_id).delete()
    return {"contacts": customers, "notes": activities, "interactions": interactions}


def links_reset_by_last_connect(channel: Channel) -> dict[str, Any] | None:
    """The `crm.hubspot.links_reset` entry written by the latest connect of `channel` (the portal changed),
    or None when the latest connect kept the links. For the page that confirms the connection."""
    event = (
        AuditEvent.objects.filter(
            organization_id=channel.organization_id,
            target_type="channel",
            target_id=str(channel.pk),
            verb__in=[CONNECTED_VERB, LINKS_RESET_VERB],
        )
        .order_by("-id")
        .first()
    )
    return event.data if event is not None and event.verb == LINKS_RESET_VERB else None


def disconnect_hubspot(scope: Scope, client: HubSpotClient | None = None) -> bool:
    """Forget the tokens (the refresh token is also deleted at HubSpot when it answers) and stop syncing.

    Customers keep their HubSpot ids and the portal is remembered, so connecting the same portal again
    carries on. Admins only, like connecting. Returns whether HubSpot confirmed the refresh token was deleted."""
    require_role(scope, Role.ADMIN)
    channel = connected_hubspot_channel(scope.organization_id)
    if channel is None:
        raise ValueError("HubSpot is not connected.")
    creds = stored_credentials(channel)
    revoked = False
    if creds.get("refresh_token"):
        try:
            (client or HubSpotClient(creds, max_retries=1)).revoke_refresh_token()
            revoked = True
        except (HubSpotError, httpx.HTTPError) as exc:
            log.warning(
                "hubspot refresh token of organisation %s not deleted at HubSpot: %s",
                scope.organization_id,
                redact(str(exc)) if isinstance(exc, HubSpotError) else type(exc).__name__,
            )
    with transaction.atomic():  # re-read under the lock: what a sync wrote meanwhile (its mark) is kept
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        stored = stored_credentials(channel)
        channel.credentials = {k: stored[k] for k in PUBLIC_KEYS if k in stored}
        channel.is_active = False
        channel.save(update_fields=["credentials_encrypted", "is_active"])
    audit(
        scope.organization_id,
        scope.user,
        "crm.hubspot.disconnected",
        channel,
        revoked_at_hubspot=revoked,
        hub_id=creds.get("hub_id"),
    )
    return revoked


def hubspot_connection(org_id: int) -> dict[str, Any] | None:
    """What the pages may show about the connection (never a token or the client secret); None if
    HubSpot is not connected."""
    channel = connected_hubspot_channel(org_id)
    if channel is None:
        return None
    creds = stored_credentials(channel)
    event = (
        AuditEvent.objects.filter(
            organization_id=org_id, verb=CONNECTED_VERB, target_type="channel", target_id=str(channel.pk)
        )
        .select_related("actor")
        .order_by("-id")
        .first()
    )
    return {
        **{k: creds[k] for k in PUBLIC_KEYS if k in creds},
        "connected_at": event.created_at if event else channel.created_at,
        "connected_by": event.actor if event else None,
        "via": (event.data or {}).get("via", "") if event else "",
        "last_sync": datetime.fromtimestamp(creds["last_sync_ms"] / 1000, tz=UTC)
        if creds.get("last_sync_ms")
        else None,
    }
