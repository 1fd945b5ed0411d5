"""A customer's personal data is erased (`crm.signals.customer_erased`): ingest erases its own copies.

The raw event log keeps every event as the network sent it, and the quarantine may hold the same payload; both
would otherwise keep the texts and names the CRM has just erased. The raw rows stay, redacted, because their
(network, external id) key is what keeps a re-delivered event from being ingested again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from hubbub.crm.privacy import ERASED
from hubbub.db import chunked
from hubbub.ingest.models import QuarantinedEvent, RawEvent

#: The payload fields of a raw event that hold personal data.
PERSONAL_FIELDS: dict[str, Any] = {
    "text": ERASED,
    "author_name": "",
    "author_handle": "",
    "author_location": "",
    "url": "",
    "extra": {},
}


def _raw_events(organization_id: int, message_keys: Sequence[tuple[str, str]]) -> list[RawEvent]:
    by_net: dict[str, list[str]] = defaultdict(list)
    for net, ext in message_keys:
        by_net[net].append(ext)
    raws: list[RawEvent] = []
    for net, exts in by_net.items():
        for chunk in chunked(exts, 900):
            raws.extend(RawEvent.objects.filter(organization_id=organization_id, network=net, external_id__in=chunk))
    return raws


def erase_raw_copies(sender: Any, organization_id: int, message_keys: Sequence[tuple[str, str]], **kwargs: Any) -> None:
    """Redact the raw events of the erased customer's messages, and the quarantine entries made from them."""
    raws = _raw_events(organization_id, message_keys)
    for r in raws:
        r.payload = {**r.payload, **PERSONAL_FIELDS, "extra": {}}
    if raws:
        RawEvent.objects.bulk_update(raws, ["payload"], batch_size=500)
    for chunk in chunked([r.pk for r in raws], 900):
        QuarantinedEvent.objects.filter(organization_id=organization_id, raw_event_id__in=chunk).update(raw=ERASED)
