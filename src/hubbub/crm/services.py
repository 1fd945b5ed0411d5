"""CRM services: resolving authors to profiles (and later customers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction

from hubbub.connectors.events import InboundEvent
from hubbub.crm.models import SocialProfile
from hubbub.db import fast_update

ProfileKey = tuple[str, str]


def resolve_authors(org_id: int, events: Sequence[InboundEvent]) -> dict[ProfileKey, SocialProfile]:
    """Find or create the SocialProfile of every author in the batch with bulk queries.

    Later evidence (a higher follower count, a display name) refreshes the stored profile.
    """
    wanted: dict[ProfileKey, InboundEvent] = {}
    for ev in events:
        key = (ev.network, ev.author_id)
        prev = wanted.get(key)
        if prev is None or ev.created_at >= prev.created_at:
            wanted[key] = ev
    by_network: dict[str, list[str]] = defaultdict(list)
    for network, author_id in wanted:
        by_network[network].append(author_id)
    found: dict[ProfileKey, SocialProfile] = {}

    def load() -> None:
        for network, ids in by_network.items():
            for i in range(0, len(ids), 900):
                for p in SocialProfile.objects.filter(
                    organization_id=org_id, network=network, external_id__in=ids[i : i + 900]
                ):
                    found[(p.network, p.external_id)] = p

    load()
    missing = [key for key in wanted if key not in found]
    if missing:
        with transaction.atomic():
            SocialProfile.objects.bulk_create(
                [
                    SocialProfile(
                        organization_id=org_id,
                        network=key[0],
                        external_id=key[1],
                        handle=(wanted[key].author_handle or key[1])[:200],
                        display_name=wanted[key].author_name[:200],
                        followers=max(0, wanted[key].author_followers),
                        location=wanted[key].author_location[:200],
                        is_brand_account=wanted[key].direction == "out",
                        first_seen_at=wanted[key].created_at,
                        last_seen_at=wanted[key].created_at,
                    )
                    for key in missing
                ],
                ignore_conflicts=True,
                batch_size=500,
            )
        load()
    changed: list[SocialProfile] = []
    for key, ev in wanted.items():
        p = found[key]
        if key in missing:
            continue
        dirty = False
        if ev.author_followers and ev.author_followers != p.followers:
            p.followers = ev.author_followers
            dirty = True
        if p.last_seen_at is None or ev.created_at > p.last_seen_at:
            p.last_seen_at = ev.created_at
            dirty = True
        if dirty:
            changed.append(p)
    if changed:
        fast_update(changed, ["followers", "last_seen_at"])
    return found
