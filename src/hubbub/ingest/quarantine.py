"""The quarantine's writers: rows of file imports that were not imported (Settings → Quarantine, `file:line`),
and raw events that failed alone in the batch step.

`hubbub.importreport` is a core module that every importing app uses (crm, insights, ingest); it cannot import
this app's `QuarantinedEvent`, so it collects plain `Reject` records and calls the sink that `IngestConfig.ready`
registers: `store_rejects`.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction
from django.utils import timezone

from hubbub.db import storable_text
from hubbub.importreport import Reject
from hubbub.ingest.models import QuarantinedEvent, RawEvent


def store_rejects(rejects: Sequence[Reject]) -> None:
    """Write the rejected rows, with their reasons, in the caller's transaction.

    The text is made storable first: a rejected row is often rejected for holding what a database refuses
    (a NUL, a lone surrogate), and its quarantine entry must not fail the import in turn.
    """
    QuarantinedEvent.objects.bulk_create(
        [
            QuarantinedEvent(
                organization_id=r.organization_id,
                source=r.source,
                location=storable_text(r.location)[:200],
                reason=storable_text(r.reason)[:500],
                raw=storable_text(r.raw)[:20000],
            )
            for r in rejects
        ],
        batch_size=500,
    )


def quarantine_failed_event(raw_id: int, reason: str) -> int:
    """Quarantine a pending raw event whose processing failed on its own, and mark it so no batch or sweep
    picks it again; 1 if it was quarantined, 0 if it was no longer pending (another worker took it).

    The raw event is claimed first (`UPDATE … WHERE state = 'pending'`), so an event another worker processed
    meanwhile is left alone. The payload is read as stored text, not decoded: it may be what cannot be decoded.
    """
    table = connection.ops.quote_name(RawEvent._meta.db_table)
    with transaction.atomic():
        claimed = RawEvent.objects.filter(pk=raw_id, state=RawEvent.State.PENDING).update(
            state=RawEvent.State.QUARANTINED, processed_at=timezone.now()
        )
        if not claimed:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT organization_id, source, external_id, CAST(payload AS TEXT) FROM {table} WHERE id = %s",
                [raw_id],
            )
            org_id, source, external_id, payload = cursor.fetchone()
        QuarantinedEvent.objects.create(
            organization_id=org_id,
            source=source,
            location=storable_text(external_id)[:200],
            reason=storable_text(reason)[:500],
            raw=storable_text(payload or "")[:20000],
            raw_event_id=raw_id,
        )
    return 1
