"""Rows of file imports that were not imported go to the quarantine (Settings → Quarantine, `file:line`).

`hubbub.importreport` is a core module that every importing app uses (crm, insights, ingest); it cannot import
this app's `QuarantinedEvent`, so it collects plain `Reject` records and calls the sink that `IngestConfig.ready`
registers: `store_rejects`.
"""

from __future__ import annotations

from collections.abc import Sequence

from hubbub.importreport import Reject
from hubbub.ingest.models import QuarantinedEvent


def store_rejects(rejects: Sequence[Reject]) -> None:
    """Write the rejected rows, with their reasons, in the caller's transaction."""
    QuarantinedEvent.objects.bulk_create(
        [
            QuarantinedEvent(
                organization_id=r.organization_id, source=r.source, location=r.location, reason=r.reason, raw=r.raw
            )
            for r in rejects
        ],
        batch_size=500,
    )
