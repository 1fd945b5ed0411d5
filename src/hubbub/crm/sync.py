"""Two-way contact sync with HubSpot CRM v3, and conversations logged there as notes.

Each customer keeps a snapshot of the values both sides agreed on at the last sync, so a
change is detected per field. The rule for conflicts (a field changed on both sides since the
last sync): the side edited
most recently wins (Hubbub's `Customer.updated_at` vs HubSpot's `updatedAt`); on a tie HubSpot
wins, because it is the brand's system of record. Every conflict is stored as a SyncConflict
with both values and shown on Customers → Sync conflicts and on the customer page.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hubbub import live
from hubbub.connectors.hubspot import BATCH, HubSpotClient, HubSpotError, redact
from hubbub.connectors.models import Channel
from hubbub.crm.models import Customer, Interaction, SocialProfile, SyncConflict, SyncedActivity
from hubbub.crm.services import prepare_customer, sync_identifiers
from hubbub.db import chunked, fast_update
from hubbub.tenancy.models import AuditEvent, Brand, Role
from hubbub.tenancy.scoping import Scope, require_role, system_scope
from hubbub.tenancy.services import audit

log = logging.getLogger("hubbub.crm.sync")

CHANNEL_NAME = "hubspot"
FIELDS = ("name", "email", "phone", "location", "address")
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
# A note claimed (`SyncedActivity` with no remote id yet) longer ago than this belongs to a sync that died
# inside the HubSpot call; the next sync takes it over. Far longer than one note call with all its retries.
CLAIM_TTL = timedelta(minutes=30)


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


def _stored(channel: Channel) -> dict[str, Any]:
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
    tokens = {k: v for k, v in credentials.items() if k not in (*PORTAL_KEYS, CONNECTION_KEY)}
    portal = portal_of(client or HubSpotClient(tokens, max_retries=INTERACTIVE_RETRIES))
    with transaction.atomic():
        channel = hubspot_channel(scope.organization_id)
        if channel is None:
            channel = Channel(organization_id=scope.organization_id, brand=brand, network="other", name=CHANNEL_NAME)
        else:
            channel = Channel.objects.select_for_update().get(pk=channel.pk)  # one connect or token write at a time
        old = _stored(channel)
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
        stored = _stored(channel)
        if stored.get(CONNECTION_KEY) != connection:
            return False
        channel.credentials = {**stored, **changes}
        channel.save(update_fields=["credentials_encrypted"])
    return True


def token_saver(channel: Channel) -> Callable[[dict[str, Any]], None]:
    """`HubSpotClient.save_tokens` for the channel as read now: stores refreshed tokens with
    `save_credentials`; raises HubSpotReconnected when the channel was reconnected or disconnected since."""
    connection = _stored(channel).get(CONNECTION_KEY)

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
    creds = _stored(channel)
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
        stored = _stored(channel)
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
    creds = _stored(channel)
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


def _remote_values(props: dict[str, Any]) -> dict[str, str]:
    name = " ".join(x for x in ((props.get("firstname") or "").strip(), (props.get("lastname") or "").strip()) if x)
    return {
        "name": name,
        "email": (props.get("email") or "").strip().lower(),
        "phone": (props.get("phone") or "").strip(),
        "location": (props.get("city") or "").strip(),
        "address": (props.get("address") or "").strip(),
    }


def _props(c: Customer) -> dict[str, str]:
    first, _, last = (c.name or "").partition(" ")
    return {
        "email": c.email,
        "firstname": first,
        "lastname": last,
        "phone": c.phone,
        "city": c.location,
        "address": c.address,
    }


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _reconcile(c: Customer, vals: dict[str, str], remote_at: datetime) -> tuple[bool, list[SyncConflict], bool]:
    """Merge a HubSpot contact's values `vals` into its customer `c` (in memory, not saved) by the rule of the
    module docstring. Returns whether a field was taken from HubSpot, the conflicts found, and whether HubSpot
    must get some of our values (`push back`). Used for pulled contacts and for existing contacts a new
    customer is linked to by email (`_create_contacts`)."""
    snap = c.sync_snapshot or {}
    changed = local_wins = False
    conflicts: list[SyncConflict] = []
    for f in FIELDS:
        local, theirs = (getattr(c, f) or ""), vals[f]
        if local == theirs or not theirs:
            continue
        remote_changed = f not in snap or snap[f] != theirs
        local_changed = f not in snap or snap[f] != local
        if not remote_changed:
            local_wins = True  # only Hubbub changed it: HubSpot gets our value
            continue
        if not local or not local_changed:
            setattr(c, f, theirs)
            changed = True
            continue
        kept = "local" if c.updated_at and c.updated_at > remote_at else "remote"
        conflicts.append(
            SyncConflict(
                organization_id=c.organization_id,
                customer=c,
                field=f,
                local_value=local,
                remote_value=theirs,
                kept=kept,
            )
        )
        if kept == "remote":
            setattr(c, f, theirs)
            changed = True
        else:
            local_wins = True
    c.sync_snapshot = {f: getattr(c, f) or "" for f in FIELDS}
    prepare_customer(c)
    return changed, conflicts, local_wins


def _create_contacts(
    org_id: int, client: HubSpotClient, customers: Sequence[Customer]
) -> tuple[int, list[Customer], list[SyncConflict], list[Customer]]:
    """Give never-synced customers a HubSpot contact, each exactly once, 100 per HubSpot call.

    Two syncs (two workers, the periodic job and "Sync now") can both read the same never-synced customers;
    each would create a contact for them. So each customer is claimed first with the notes' mechanism
    (`_claim`, kind `contact`: a `SyncedActivity` row committed before HubSpot is called, taken over after
    `CLAIM_TTL`), checked under the customer's row lock to still have no HubSpot id; the other sync skips it.
    Then HubSpot is asked which of the emails it already knows (`contacts_by_email`: a contact made in HubSpot
    meanwhile, or by a sync that died after HubSpot answered): those are linked and reconciled like pulled
    contacts, only the rest are created. The HubSpot id is stored and the claim removed in one transaction
    (the customer's `hubspot_id` is the lasting record); a failed call gives the claims back (`_release`).

    Returns how many contacts were created, the customers linked to existing contacts, the conflicts found
    linking them and those of them whose values HubSpot must get (push back)."""
    created_n = 0
    linked: list[Customer] = []
    conflicts: list[SyncConflict] = []
    push_back: list[Customer] = []
    for chunk in chunked(customers, BATCH):
        claims = {c.pk: claim for c in chunk if (claim := _claim(org_id, "contact", c.pk)) is not None}
        mine = [c for c in chunk if c.pk in claims]
        if not mine:
            continue
        try:
            existing = client.contacts_by_email([c.email for c in mine])
            fresh = list({c.email: c for c in mine if c.email not in existing}.values())  # one contact per email
            created = client.batch_create([_props(c) for c in fresh]) if fresh else []
        except BaseException:
            for claim in claims.values():
                _release(claim)
            raise
        created_ids = {(x.get("properties", {}).get("email") or "").lower(): str(x["id"]) for x in created}
        created_n += len(created)
        done: list[Customer] = []
        for c in mine:
            if c.email in existing:
                contact = existing[c.email]
                props = contact.get("properties", {})
                remote_at = _when(contact.get("updatedAt") or props.get("lastmodifieddate")) or timezone.now()
                c.hubspot_id = str(contact["id"])
                _changed, found, local_wins = _reconcile(c, _remote_values(props), remote_at)
                conflicts += found
                linked.append(c)
                if local_wins:
                    push_back.append(c)
            elif c.email in created_ids:
                c.hubspot_id = created_ids[c.email]
                c.sync_snapshot = {f: getattr(c, f) or "" for f in FIELDS}
            else:  # not in HubSpot's answer: the next sync tries again
                _release(claims.pop(c.pk))
                continue
            done.append(c)
        _record_contacts(org_id, claims, done, {c.pk for c in linked})
    return created_n, [c for c in linked if c.hubspot_id], conflicts, [c for c in push_back if c.hubspot_id]


def _record_contacts(org_id: int, claims: dict[int, SyncedActivity], done: list[Customer], linked: set[int]) -> None:
    """Store the HubSpot ids of `done` and remove their claims in one transaction, so another sync sees either
    the claim or the id, never neither. A claim that is gone was reset by a connect of another portal while
    HubSpot was called: that contact is in the old portal and its id is not stored (logged)."""
    with transaction.atomic():
        held = set(
            SyncedActivity.objects.select_for_update()
            .filter(pk__in=[claims[c.pk].pk for c in done], remote_id="")
            .values_list("pk", flat=True)
        )
        kept = [c for c in done if claims[c.pk].pk in held]
        for c in done:
            if claims[c.pk].pk not in held:
                log.warning("hubspot contact %s of customer %s is in the portal connected before", c.hubspot_id, c.pk)
                c.hubspot_id = ""
        SyncedActivity.objects.filter(pk__in=held).delete()
        for c in kept:
            if c.pk in linked:
                c.save()
        Customer.objects.bulk_update(
            [c for c in kept if c.pk not in linked], ["hubspot_id", "sync_snapshot"], batch_size=500
        )


def sync_hubspot(org_id: int, actor: Any = None, client: HubSpotClient | None = None) -> dict[str, int]:
    """Pull changed contacts, resolve conflicts, push new/changed customers, log conversations."""
    channel = connected_hubspot_channel(org_id)
    if channel is None:
        raise ValueError("HubSpot is not connected for this organisation.")

    stored = _stored(channel)
    # The sync owns the channel's credential writes: refreshed tokens are stored only while this connection
    # is still the stored one (HubSpotReconnected stops the sync otherwise).
    client = client or HubSpotClient(stored)
    client.save_tokens = token_saver(channel)
    started = timezone.now()
    last_ms = stored.get("last_sync_ms")
    stats = dict.fromkeys(
        (
            "pulled",
            "created_here",
            "updated_here",
            "created_there",
            "linked_there",
            "updated_there",
            "conflicts",
            "notes",
            "notes_rejected",
        ),
        0,
    )

    # ---- pull
    remote = list(client.contacts_modified_since(int(last_ms)) if last_ms else client.list_contacts())
    stats["pulled"] = len(remote)
    base = Customer.objects.filter(organization_id=org_id, merged_into__isnull=True, erased_at__isnull=True)
    ids = [str(r["id"]) for r in remote]
    emails = [_remote_values(r.get("properties", {}))["email"] for r in remote]
    by_id = {c.hubspot_id: c for c in base.filter(hubspot_id__in=ids)} if ids else {}
    by_email = {c.email: c for c in base.filter(email__in=[e for e in emails if e], hubspot_id="")} if emails else {}
    touched: dict[int, Customer] = {}
    push_back: dict[int, Customer] = {}
    conflicts: list[SyncConflict] = []
    for r in remote:
        rid = str(r["id"])
        vals = _remote_values(r.get("properties", {}))
        remote_at = _when(r.get("updatedAt") or r.get("properties", {}).get("lastmodifieddate")) or started
        c = by_id.get(rid) or (by_email.get(vals["email"]) if vals["email"] else None)
        if c is None:
            c = Customer(organization_id=org_id, hubspot_id=rid, sync_snapshot=dict(vals), **vals)
            prepare_customer(c)
            c.save()
            touched[c.pk] = c
            stats["created_here"] += 1
            continue
        c.hubspot_id = rid
        changed, found, local_wins = _reconcile(c, vals, remote_at)
        conflicts += found
        if local_wins:
            push_back[c.pk] = c
        c.save()
        touched[c.pk] = c
        stats["updated_here"] += int(changed)
    SyncConflict.objects.bulk_create(conflicts)
    stats["conflicts"] = len(conflicts)
    if touched:
        sync_identifiers(org_id, list(touched.values()))
        Customer.objects.filter(id__in=[pk for pk in touched if pk not in push_back]).update(synced_at=F("updated_at"))

    # ---- push: new customers (with an email, HubSpot's dedupe key) and locally edited ones
    new = list(base.filter(hubspot_id="").exclude(email="").order_by("pk")[:10000])
    created_there, linked_there, linked_conflicts, linked_back = _create_contacts(org_id, client, new)
    stats["created_there"], stats["linked_there"] = created_there, len(linked_there)
    SyncConflict.objects.bulk_create(linked_conflicts)
    stats["conflicts"] += len(linked_conflicts)
    push_back.update({c.pk: c for c in linked_back})
    touched.update({c.pk: c for c in linked_there})
    if linked_there:
        sync_identifiers(org_id, linked_there)
        Customer.objects.filter(id__in=[c.pk for c in linked_there if c.pk not in push_back]).update(
            synced_at=F("updated_at")
        )
    edited = list(
        base.exclude(hubspot_id="")
        .exclude(id__in=[pk for pk in touched if pk not in push_back])
        .filter(synced_at__isnull=False, updated_at__gt=F("synced_at"))[:10000]
    )
    edited_ids = {c.pk for c in edited}
    edited += [c for pk, c in push_back.items() if pk not in edited_ids]
    if edited:
        client.batch_update([(c.hubspot_id, _props(c)) for c in edited])
        stats["updated_there"] = len(edited)
        for c in edited:
            c.sync_snapshot = {f: getattr(c, f) or "" for f in FIELDS}
        Customer.objects.bulk_update(edited, ["sync_snapshot"], batch_size=500)
    done_ids = [c.pk for c in new if c.hubspot_id and c.pk not in touched] + [c.pk for c in edited]
    if done_ids:
        Customer.objects.filter(id__in=done_ids).update(synced_at=F("updated_at"))

    # ---- conversations and logged calls/emails as notes on the contact
    stats["notes"], stats["notes_rejected"] = _log_activities(org_id, client, stored.get(CONNECTION_KEY))
    # Only the fields this sync changed, and only into the connection it ran on: a reconnect meanwhile keeps
    # its new tokens (and its own mark).
    saved = save_credentials(
        channel.pk,
        stored.get(CONNECTION_KEY),
        {
            **{k: client.creds[k] for k in TOKEN_KEYS if k in client.creds},
            "last_sync_ms": int(started.timestamp() * 1000),
        },
    )
    if not saved:
        log.warning(
            "hubspot was reconnected or disconnected during the sync of organisation %s; its tokens kept", org_id
        )
    extra = {} if saved else {"reconnected_during_sync": True}
    audit(org_id, actor, "crm.hubspot.synced", channel, requests=client.requests, **stats, **extra)
    live.publish("crm.sync", org_id, **stats)
    return stats


def move_synced_conversations(org_id: int, into: dict[int, int]) -> int:
    """Conversations were merged (`inbox.merging`, absorbed id → survivor id, in the merge's transaction):
    the notes logged in HubSpot for the absorbed ones now belong to their survivor. Returns how many rows moved.

    `SyncedActivity` names its conversation by id (`local_id`; no foreign key, the table records
    interactions too), so the merge's generic move of related rows cannot see it, and without this the
    row would name a deleted conversation. The rule, per survivor:

    - only absorbed conversations were logged: the earliest-written row moves to the survivor. The merged
      conversation *is* the one HubSpot already has a note for, so the next sync does not log it again (a
      second note on the contact for one thread); as for a conversation reopened after it was logged, later
      messages do not add notes;
    - the survivor was logged too (or several absorbed ones were): one row stays — the survivor's own,
      else the earliest-written — and the others' remote ids are appended to its `merged_remote_ids`.
      Those notes exist in HubSpot; their ids are kept (an admin can find or remove them), while the key
      of one row per conversation, which stops the sync from writing twice, holds;
    - nothing logged: nothing to do.

    One query per chunk of conversations, plus the writes when there are rows to move.
    """
    if not into:
        return 0
    ids = list(dict.fromkeys([*into, *into.values()]))
    rows: list[SyncedActivity] = []
    for chunk in chunked(ids):
        rows += SyncedActivity.objects.filter(organization_id=org_id, kind="conversation", local_id__in=chunk)
    keep, drop = plan_synced_moves(rows, into)
    for chunk in chunked(drop):
        SyncedActivity.objects.filter(pk__in=chunk).delete()  # first: a moved row takes no survivor's key
    fast_update(keep, ["local_id", "merged_remote_ids"])
    return len(keep) + len(drop)


def plan_synced_moves(rows: Sequence[Any], into: dict[int, int]) -> tuple[list[Any], list[int]]:
    """The rule of `move_synced_conversations` on loaded `SyncedActivity` rows of kind conversation (also
    used by the migration that repaired earlier merges): the rows to keep, with `local_id` and
    `merged_remote_ids` updated in memory, and the primary keys of the rows to delete."""
    by_survivor: dict[int, list[Any]] = {}
    # A written note before a claim (a sync inside the HubSpot call, no remote id yet: it records its note
    # on the survivor's row when it finds its claim gone, `_record_note`), then the survivor's own row first.
    for row in sorted(rows, key=lambda r: (not r.remote_id, r.local_id in into, r.created_at, r.pk)):
        by_survivor.setdefault(into.get(row.local_id, row.local_id), []).append(row)
    keep: list[Any] = []
    drop: list[int] = []
    for survivor_id, group in by_survivor.items():
        head, *others = group
        if head.local_id == survivor_id and not others:
            continue  # only the survivor was logged
        head.local_id = survivor_id
        head.merged_remote_ids = [
            *(head.merged_remote_ids or []),
            *(rid for o in others for rid in (o.remote_id, *(o.merged_remote_ids or [])) if rid),
        ]
        keep.append(head)
        drop += [o.pk for o in others]
    return keep, drop


def _log_activities(org_id: int, client: HubSpotClient, connection: str | None, limit: int = 500) -> tuple[int, int]:
    """Write resolved conversations and logged calls/emails of synced customers as notes, each once.

    Each note is claimed before HubSpot is called (`_claim`: a `SyncedActivity` row without a remote id, under
    its one-row-per-conversation key), so a second sync running at the same time skips it instead of writing
    a second note; the note's id is recorded as soon as HubSpot answers (`_record_note`), and a failed call
    gives the claim back (`_release`) before the error stops the sync, so the next sync writes it — unless HubSpot
    refused that note for good (a 400 validation error, …: `_reject`), which is recorded on it and skipped, so one
    bad note does not stop every sync at that point. `connection` is the `connection_id` the sync started with.
    Returns how many notes were written and how many refused."""
    from hubbub.inbox.models import Conversation

    taken = SyncedActivity.objects.filter(organization_id=org_id).exclude(
        remote_id="", error="", created_at__lt=timezone.now() - CLAIM_TTL
    )  # written, refused for good (until retried), or claimed by a sync still running
    contact_of = dict(
        SocialProfile.objects.filter(organization_id=org_id, customer__hubspot_id__gt="").values_list(
            "id", "customer__hubspot_id"
        )
    )
    made = Counter[str]()
    if contact_of:
        convs = (
            Conversation.objects.filter(organization_id=org_id, author_id__in=list(contact_of), status="resolved")
            .exclude(id__in=taken.filter(kind="conversation").values("local_id"))
            .select_related("brand")
            .order_by("id")[:limit]
        )
        for conv in convs:
            body = (
                f"Hubbub conversation #{conv.pk} on {conv.network} with {conv.brand.name}: "
                f"{conv.message_count} messages, sentiment {conv.sentiment or 'n/a'}, intent {conv.intent or 'n/a'}. "
                f"{conv.preview}"
            )
            note = partial(client.create_note, contact_of[conv.author_id], body, conv.last_message_at.isoformat())
            made[_write_note(org_id, "conversation", conv.pk, connection, note)] += 1
    for it in (
        Interaction.objects.filter(organization_id=org_id, hubspot_id="", customer__hubspot_id__gt="")
        .exclude(kind="csat")
        .exclude(id__in=taken.filter(kind="interaction").values("local_id"))
        .select_related("customer")[:limit]
    ):
        text = f"{it.get_kind_display()}: {it.text}"
        note = partial(client.create_note, it.customer.hubspot_id, text, it.occurred_at.isoformat())
        made[_write_note(org_id, "interaction", it.pk, connection, note)] += 1
    return made["written"], made["rejected"]


def _write_note(org_id: int, kind: str, local_id: int, connection: str | None, create: Callable[[], str]) -> str:
    """Claim, write through `create` (HubSpot), record. Returns `written`, `rejected` (HubSpot refused this note
    for good: recorded on its claim, `_reject`, and the sync goes on with the next) or `skipped` (not this
    sync's to write). Any other failure gives the claim back and stops the sync: the next one tries again."""
    claim = _claim(org_id, kind, local_id)
    if claim is None:
        return "skipped"
    try:
        remote_id = create()
    except HubSpotError as exc:
        if not exc.permanent:
            _release(claim)
            raise
        _reject(claim, exc)
        return "rejected"
    except BaseException:
        _release(claim)
        raise
    _record_note(claim, remote_id, connection)
    return "written"


def _reject(claim: SyncedActivity, exc: HubSpotError) -> None:
    """HubSpot refused the note of `claim` for good (`HubSpotError.permanent`): keep the claim with the error, so
    no sync sends it again (nor waits on it) until someone fixes the cause and presses Retry, and it stays listed
    on Customers → HubSpot. Never dropped silently: the item is neither written nor forgotten."""
    error = redact(f"HubSpot {exc.status}: {exc.detail}")[:1000]
    SyncedActivity.objects.filter(pk=claim.pk, remote_id="").update(error=error, failed_at=timezone.now())
    log.warning(
        "hubspot refused the note of %s %s of organisation %s; skipped until retried: %s",
        claim.kind,
        claim.local_id,
        claim.organization_id,
        error,
    )


def rejected_items(org_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The notes HubSpot refused for good, newest first, for Customers → HubSpot: `id` (for Retry), `kind`,
    `local_id`, `customer_id` (the customer page to open), `label`, `error`, `failed_at`."""
    from hubbub.inbox.models import Conversation

    rows = list(
        SyncedActivity.objects.filter(organization_id=org_id, remote_id="")
        .exclude(error="")
        .order_by("-failed_at", "-pk")[:limit]
    )
    conv_ids = [r.local_id for r in rows if r.kind == "conversation"]
    customer_of_conv = dict(
        Conversation.objects.filter(organization_id=org_id, pk__in=conv_ids).values_list("pk", "author__customer_id")
    )
    it_ids = [r.local_id for r in rows if r.kind == "interaction"]
    interactions = {
        it.pk: it
        for it in Interaction.objects.filter(organization_id=org_id, pk__in=it_ids).only("pk", "kind", "customer_id")
    }
    out: list[dict[str, Any]] = []
    for r in rows:
        if r.kind == "conversation":
            label, customer_id = f"Conversation #{r.local_id}", customer_of_conv.get(r.local_id)
        else:
            it = interactions.get(r.local_id)
            label = f"{it.get_kind_display() if it else 'Logged activity'} #{r.local_id}"
            customer_id = it.customer_id if it else None
        out.append(
            {
                "id": r.pk,
                "kind": r.kind,
                "local_id": r.local_id,
                "customer_id": customer_id,
                "label": label,
                "error": r.error,
                "failed_at": r.failed_at,
            }
        )
    return out


def retry_rejected(scope: Scope, ids: Sequence[int] | None = None) -> int:
    """Forget the refusals `ids` (all of the organisation's when None), so the next sync sends those notes again —
    after the cause (a property HubSpot validates, a contact deleted there…) was fixed. Supervisors and up, like
    running the sync; audited `crm.hubspot.retried`. Returns how many will be retried."""
    require_role(scope, Role.SUPERVISOR)
    rows = SyncedActivity.objects.filter(organization_id=scope.organization_id, remote_id="").exclude(error="")
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    items = [f"{kind}:{local_id}" for kind, local_id in rows.values_list("kind", "local_id")]
    count, _ = rows.delete()
    if count:
        audit(scope.organization_id, scope.user, "crm.hubspot.retried", None, items=items[:200], count=count)
    return count


def _claim(org_id: int, kind: str, local_id: int) -> SyncedActivity | None:
    """Take the right to write the note of a conversation or interaction, or to create the contact of a customer
    (kind `contact`): a `SyncedActivity` row with no remote id yet, committed before HubSpot is called. None when
    it is not this sync's to write: another sync holds or wrote it (the unique key; on PostgreSQL the insert
    waits for the other's claim to commit), the conversation is gone — merged away since the list was read;
    checked under its row lock, which a merge takes too, so a merge is either before (no claim) or after (the
    merge moves the claim to its survivor) — or the customer has a HubSpot id by now (another sync created its
    contact and removed its claim since the list was read; checked under the customer's row lock).
    A claim older than `CLAIM_TTL` is taken over: its sync died inside the HubSpot call."""
    from hubbub.inbox.models import Conversation

    try:
        with transaction.atomic():
            if kind == "conversation":
                here = Conversation.objects.select_for_update().filter(organization_id=org_id, pk=local_id)
                if not list(here.values_list("pk", flat=True)):
                    log.info("conversation %s merged away during the hubspot sync; not logged", local_id)
                    return None
            elif kind == "contact":  # still without a contact: another sync may have recorded one since
                unsynced = Customer.objects.select_for_update().filter(
                    organization_id=org_id, pk=local_id, hubspot_id="", merged_into__isnull=True, erased_at__isnull=True
                )
                if not list(unsynced.values_list("pk", flat=True)):
                    return None
            return SyncedActivity.objects.create(organization_id=org_id, kind=kind, local_id=local_id, remote_id="")
    except IntegrityError:
        pass
    now = timezone.now()
    stale = SyncedActivity.objects.filter(
        organization_id=org_id, kind=kind, local_id=local_id, remote_id="", error="", created_at__lt=now - CLAIM_TTL
    ).first()
    if stale is None or not SyncedActivity.objects.filter(
        pk=stale.pk, remote_id="", created_at=stale.created_at
    ).update(created_at=now):
        return None
    log.warning(
        "hubspot %s %s claimed at %s by a sync that never finished; written now (a note may show twice in HubSpot "
        "if that sync had written it; a contact is found by its email)",
        kind,
        local_id,
        stale.created_at.isoformat(),
    )
    stale.created_at = now
    return stale


def _record_note(claim: SyncedActivity, remote_id: str, connection: str | None) -> None:
    """HubSpot wrote the note of `claim`: record its id. The claim may have moved meanwhile — a merge moves it
    to the survivor (same row), or drops it when the survivor has a row of its own: then the note id joins
    that row's `merged_remote_ids` (the survivor found through the inbox's alias of the merged conversation).
    When every record was reset (another portal connected meanwhile), the note is in the old portal: logged."""
    from hubbub.inbox.merging import merged_into

    org_id = claim.organization_id
    with transaction.atomic():
        if SyncedActivity.objects.filter(pk=claim.pk).update(remote_id=remote_id):
            if claim.kind == "interaction":
                Interaction.objects.filter(pk=claim.local_id).update(hubspot_id=remote_id)
            return
        target = claim.local_id
        if claim.kind == "conversation":
            target = merged_into(system_scope(org_id), claim.local_id) or claim.local_id
        row = (
            SyncedActivity.objects.select_for_update()
            .filter(organization_id=org_id, kind=claim.kind, local_id=target)
            .first()
        )
        if row is not None:
            row.merged_remote_ids = [*(row.merged_remote_ids or []), remote_id]
            row.save(update_fields=["merged_remote_ids"])
        elif _stored(connected_hubspot_channel(org_id) or Channel()).get(CONNECTION_KEY) == connection:
            SyncedActivity.objects.create(organization_id=org_id, kind=claim.kind, local_id=target, remote_id=remote_id)
        else:
            log.warning(
                "hubspot note %s of %s %s written into the portal connected before; its record was reset",
                remote_id,
                claim.kind,
                claim.local_id,
            )


def _release(claim: SyncedActivity) -> None:
    """HubSpot did not write the note of `claim`: give the claim back, so the next sync writes it. A claim a
    merge turned into the survivor's row with other notes (`merged_remote_ids`) stays, carrying the first of
    them, as when only absorbed conversations were logged; a claim a merge dropped is gone already."""
    with transaction.atomic():
        row = SyncedActivity.objects.select_for_update().filter(pk=claim.pk, remote_id="").first()
        if row is None:
            return
        if row.merged_remote_ids:
            row.remote_id, row.merged_remote_ids = row.merged_remote_ids[0], row.merged_remote_ids[1:]
            row.save(update_fields=["remote_id", "merged_remote_ids"])
        else:
            row.delete()
