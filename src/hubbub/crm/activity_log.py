"""Conversations and logged calls/emails of synced customers, written as notes on their HubSpot contacts,
each exactly once: claims (`SyncedActivity` rows committed before HubSpot is called), notes HubSpot refused
for good (shown on Customers → HubSpot, retried on request), and claims given back after a failed call."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from hubbub.connectors.hubspot import HubSpotClient, HubSpotError, redact
from hubbub.connectors.models import Channel
from hubbub.crm.hubspot_connection import CONNECTION_KEY, connected_hubspot_channel, stored_credentials
from hubbub.crm.models import Customer, Interaction, SocialProfile, SyncedActivity
from hubbub.inbox.merging import merged_into
from hubbub.inbox.models import Conversation
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role, system_scope
from hubbub.tenancy.services import audit

# One log channel for everything HubSpot (connection, sync runs, notes), as operators filter it.
log = logging.getLogger("hubbub.crm.sync")

# A note claimed (`SyncedActivity` with no remote id yet) longer ago than this belongs to a sync that died
# inside the HubSpot call; the next sync takes it over. Far longer than one note call with all its retries.
CLAIM_TTL = timedelta(minutes=30)


def log_activities(org_id: int, client: HubSpotClient, connection: str | None, limit: int = 500) -> tuple[int, int]:
    """Write resolved conversations and logged calls/emails of synced customers as notes, each once.

    Each note is claimed before HubSpot is called (`claim_activity`: a `SyncedActivity` row without a remote id, under
    its one-row-per-conversation key), so a second sync running at the same time skips it instead of writing
    a second note; the note's id is recorded as soon as HubSpot answers (`_record_note`), and a failed call
    gives the claim back (`release_claim`) before the error stops the sync, so the next sync writes it — unless HubSpot
    refused that note for good (a 400 validation error, …: `_reject`), which is recorded on it and skipped, so one
    bad note does not stop every sync at that point. `connection` is the `connection_id` the sync started with.
    Returns how many notes were written and how many refused."""
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
    claim = claim_activity(org_id, kind, local_id)
    if claim is None:
        return "skipped"
    try:
        remote_id = create()
    except HubSpotError as exc:
        if not exc.permanent:
            release_claim(claim)
            raise
        _reject(claim, exc)
        return "rejected"
    except BaseException:
        release_claim(claim)
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


def claim_activity(org_id: int, kind: str, local_id: int) -> SyncedActivity | None:
    """Take the right to write the note of a conversation or interaction, or to create the contact of a customer
    (kind `contact`): a `SyncedActivity` row with no remote id yet, committed before HubSpot is called. None when
    it is not this sync's to write: another sync holds or wrote it (the unique key; on PostgreSQL the insert
    waits for the other's claim to commit), the conversation is gone — merged away since the list was read;
    checked under its row lock, which a merge takes too, so a merge is either before (no claim) or after (the
    merge moves the claim to its survivor) — or the customer has a HubSpot id by now (another sync created its
    contact and removed its claim since the list was read; checked under the customer's row lock).
    A claim older than `CLAIM_TTL` is taken over: its sync died inside the HubSpot call."""
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
        elif stored_credentials(connected_hubspot_channel(org_id) or Channel()).get(CONNECTION_KEY) == connection:
            SyncedActivity.objects.create(organization_id=org_id, kind=claim.kind, local_id=target, remote_id=remote_id)
        else:
            log.warning(
                "hubspot note %s of %s %s written into the portal connected before; its record was reset",
                remote_id,
                claim.kind,
                claim.local_id,
            )


def release_claim(claim: SyncedActivity) -> None:
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
