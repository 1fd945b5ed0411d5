"""Two-way contact sync with HubSpot CRM v3: one sync run pulls, reconciles and pushes contacts, then logs
conversations as notes (`activity_log`) on the connection of `hubspot_connection`.

Each customer keeps a snapshot of the values both sides agreed on at the last sync, so a
change is detected per field. The rule for conflicts (a field changed on both sides since the
last sync): the side edited
most recently wins (Hubbub's `Customer.updated_at` vs HubSpot's `updatedAt`); on a tie HubSpot
wins, because it is the brand's system of record. Every conflict is stored as a SyncConflict
with both values and shown on Customers → Sync conflicts and on the customer page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from hubbub import live
from hubbub.connectors.hubspot import BATCH, HubSpotClient
from hubbub.crm.activity_log import claim_activity, log_activities, release_claim
from hubbub.crm.hubspot_connection import (
    CONNECTION_KEY,
    TOKEN_KEYS,
    connected_hubspot_channel,
    save_credentials,
    stored_credentials,
    token_saver,
)
from hubbub.crm.models import Customer, SyncConflict, SyncedActivity
from hubbub.crm.services import prepare_customer, sync_identifiers
from hubbub.db import chunked, fast_update
from hubbub.tenancy.services import audit

# One log channel for everything HubSpot (connection, sync runs, notes), as operators filter it.
log = logging.getLogger("hubbub.crm.sync")

FIELDS = ("name", "email", "phone", "location", "address")


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
    (`claim_activity`, kind `contact`: a `SyncedActivity` row committed before HubSpot is called, taken over after
    `CLAIM_TTL`), checked under the customer's row lock to still have no HubSpot id; the other sync skips it.
    Then HubSpot is asked which of the emails it already knows (`contacts_by_email`: a contact made in HubSpot
    meanwhile, or by a sync that died after HubSpot answered): those are linked and reconciled like pulled
    contacts, only the rest are created. The HubSpot id is stored and the claim removed in one transaction
    (the customer's `hubspot_id` is the lasting record); a failed call gives the claims back (`release_claim`).

    Returns how many contacts were created, the customers linked to existing contacts, the conflicts found
    linking them and those of them whose values HubSpot must get (push back)."""
    created_n = 0
    linked: list[Customer] = []
    conflicts: list[SyncConflict] = []
    push_back: list[Customer] = []
    for chunk in chunked(customers, BATCH):
        claims = {c.pk: claim for c in chunk if (claim := claim_activity(org_id, "contact", c.pk)) is not None}
        mine = [c for c in chunk if c.pk in claims]
        if not mine:
            continue
        try:
            existing = client.contacts_by_email([c.email for c in mine])
            fresh = list({c.email: c for c in mine if c.email not in existing}.values())  # one contact per email
            created = client.batch_create([_props(c) for c in fresh]) if fresh else []
        except BaseException:
            for claim in claims.values():
                release_claim(claim)
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
                release_claim(claims.pop(c.pk))
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


STAT_KEYS = (
    "pulled",
    "created_here",
    "updated_here",
    "created_there",
    "linked_there",
    "updated_there",
    "conflicts",
    "notes",
    "notes_rejected",
)


def _pull(
    org_id: int, client: HubSpotClient, base: QuerySet[Customer], last_ms: Any, started: datetime, stats: dict[str, int]
) -> tuple[dict[int, Customer], dict[int, Customer]]:
    """Take the contacts changed in HubSpot since the last sync (all of them the first time): new ones become
    customers, known ones are reconciled field by field. Returns the customers touched and those whose values
    HubSpot must get back (a conflict Hubbub won, or a field only Hubbub changed)."""
    remote = list(client.contacts_modified_since(int(last_ms)) if last_ms else client.list_contacts())
    stats["pulled"] = len(remote)
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
    return touched, push_back


def _push(
    org_id: int,
    client: HubSpotClient,
    base: QuerySet[Customer],
    touched: dict[int, Customer],
    push_back: dict[int, Customer],
    stats: dict[str, int],
) -> None:
    """Give new customers (with an email, HubSpot's dedupe key) a contact, and send locally edited ones."""
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


def _save_mark(org_id: int, channel_id: int, connection: str | None, client: HubSpotClient, started: datetime) -> bool:
    """Store the refreshed tokens and the incremental-sync mark. Only the fields this sync changed, and only
    into the connection it ran on: a reconnect meanwhile keeps its new tokens (and its own mark)."""
    saved = save_credentials(
        channel_id,
        connection,
        {
            **{k: client.creds[k] for k in TOKEN_KEYS if k in client.creds},
            "last_sync_ms": int(started.timestamp() * 1000),
        },
    )
    if not saved:
        log.warning(
            "hubspot was reconnected or disconnected during the sync of organisation %s; its tokens kept", org_id
        )
    return saved


def sync_hubspot(org_id: int, actor: Any = None, client: HubSpotClient | None = None) -> dict[str, int]:
    """Pull changed contacts, resolve conflicts, push new/changed customers, log conversations."""
    channel = connected_hubspot_channel(org_id)
    if channel is None:
        raise ValueError("HubSpot is not connected for this organisation.")

    stored = stored_credentials(channel)
    # The sync owns the channel's credential writes: refreshed tokens are stored only while this connection
    # is still the stored one (HubSpotReconnected stops the sync otherwise).
    client = client or HubSpotClient(stored)
    client.save_tokens = token_saver(channel)
    started = timezone.now()
    stats = dict.fromkeys(STAT_KEYS, 0)
    base = Customer.objects.filter(organization_id=org_id, merged_into__isnull=True, erased_at__isnull=True)
    touched, push_back = _pull(org_id, client, base, stored.get("last_sync_ms"), started, stats)
    _push(org_id, client, base, touched, push_back, stats)
    # conversations and logged calls/emails as notes on the contact
    stats["notes"], stats["notes_rejected"] = log_activities(org_id, client, stored.get(CONNECTION_KEY))
    saved = _save_mark(org_id, channel.pk, stored.get(CONNECTION_KEY), client, started)
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
