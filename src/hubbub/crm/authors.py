"""The ingest step of the CRM: every author of a batch becomes a `SocialProfile`, linked to a customer on
strong evidence (an exact identifier), with a fixed handful of bulk queries per batch (`resolve_authors`
runs in the ingest hot path)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from hubbub.connectors.events import InboundEvent
from hubbub.crm import matching
from hubbub.crm.models import Customer, CustomerIdentifier, IdentityLink, SocialProfile
from hubbub.db import fast_insert_dicts, fast_update
from hubbub.rows import row_class, rows_by_key

ProfileKey = tuple[str, str]


@row_class(SocialProfile)
class AuthorRow:
    """A social profile as the ingest batch needs it: a plain row, no `Model.__init__` on the hot path,
    written back with `db.fast_update`."""

    pk: int
    handle: str
    display_name: str
    followers: int
    is_brand_account: bool
    customer_id: int | None
    last_seen_at: datetime | None
    network: str
    external_id: str


def resolve_authors(org_id: int, events: Sequence[InboundEvent]) -> dict[ProfileKey, AuthorRow]:
    """Find or create the SocialProfile of every author in the batch with bulk queries,
    then link unlinked authors to customers on strong evidence.

    Later evidence (a higher follower count, a display name) refreshes the stored profile.
    Strong evidence is an exact identifier: the handle stored on a customer (or given in a
    brand's mapping file), or an email address / phone number the author wrote in a message
    or that the connector found on the profile (`extra["email"]`, `extra["phone"]`).
    """
    wanted: dict[ProfileKey, InboundEvent] = {}
    for ev in events:
        key = (ev.network, ev.author_id)
        prev = wanted.get(key)
        if prev is None or ev.created_at >= prev.created_at:
            wanted[key] = ev
    found = rows_by_key(AuthorRow, org_id, wanted)
    # Sorted by key (and updates below by id): two workers whose batches share authors then take the
    # unique-index and row locks in the same order, so one waits for the other instead of deadlocking.
    missing = sorted(key for key in wanted if key not in found)
    if missing:
        rows = []
        for key in missing:
            ev = wanted[key]
            rows.append(
                {
                    "organization_id": org_id,
                    "network": key[0],
                    "external_id": key[1],
                    "handle": (ev.author_handle or key[1])[:200],
                    "display_name": ev.author_name[:200],
                    "followers": max(0, ev.author_followers),
                    "location": ev.author_location[:200],
                    "is_brand_account": ev.direction == "out",
                    "customer_id": None,
                    "first_seen_at": ev.created_at,
                    "last_seen_at": ev.created_at,
                }
            )
        # A concurrent batch may create the same author: skip it, then read back what is stored.
        fast_insert_dicts(SocialProfile, rows, ignore_conflicts=True)
        found.update(rows_by_key(AuthorRow, org_id, missing))
    fresh = set(missing)
    changed: list[AuthorRow] = []
    for key, ev in wanted.items():
        if key in fresh:
            continue
        p = found[key]
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
        changed.sort(key=lambda row: row.pk)
        fast_update(changed, ["followers", "last_seen_at"])  # type: ignore[arg-type]
    _link_on_strong_evidence(org_id, events, found)
    return found


def _gather_evidence(
    events: Sequence[InboundEvent], found: dict[ProfileKey, AuthorRow]
) -> dict[ProfileKey, dict[str, str]]:
    """The identifiers each unlinked customer author shows: handle, identifiers in messages, profile fields."""
    evidence: dict[ProfileKey, dict[str, str]] = defaultdict(dict)  # key → {identifier: where}
    for key, p in found.items():
        if p.customer_id is None and not p.is_brand_account and p.handle:
            evidence[key][f"handle:{matching.norm_handle(p.handle)}"] = "handle"
    for ev in events:
        key = (ev.network, ev.author_id)
        author = found.get(key)
        if author is None or author.customer_id is not None or author.is_brand_account or ev.direction != "in":
            continue
        for value in matching.evidence_in_text(ev.text):
            evidence[key].setdefault(value, "message")
        for field_name in ("email", "phone"):
            raw = ev.extra.get(field_name) if isinstance(ev.extra, dict) else None
            if raw:
                for value in matching.identifier_values(**{field_name: str(raw)}):
                    evidence[key].setdefault(value, "profile")
    return evidence


def _identifier_owners(org_id: int, values: list[str]) -> dict[str, set[int]]:
    """The customers that hold each identifier (one indexed lookup per 900 values)."""
    owners: dict[str, set[int]] = defaultdict(set)
    for i in range(0, len(values), 900):
        for value, cid in CustomerIdentifier.objects.filter(
            organization_id=org_id, value__in=values[i : i + 900]
        ).values_list("value", "customer_id"):
            owners[value].add(cid)
    return owners


def _links_for(org_id: int, p: AuthorRow, candidates: dict[int, tuple[str, str]]) -> list[IdentityLink]:
    """One customer named: an automatic link (and `p` is linked in memory); several: a suggestion for each."""
    if len(candidates) == 1:
        cid, (value, where) = next(iter(candidates.items()))
        p.customer_id = cid
        return [
            IdentityLink(
                organization_id=org_id,
                profile_id=p.pk,
                customer_id=cid,
                method=value.split(":", 1)[0] if where != "mapping" else "mapping",
                status=IdentityLink.Status.AUTO,
                confidence=1.0,
                evidence={"identifier": value, "seen_in": where},
            )
        ]
    # the same identifier on two customers: ask an agent
    return [
        IdentityLink(
            organization_id=org_id,
            profile_id=p.pk,
            customer_id=cid,
            method=value.split(":", 1)[0],
            status=IdentityLink.Status.SUGGESTED,
            confidence=0.7,
            evidence={"identifier": value, "seen_in": where, "ambiguous": True},
        )
        for cid, (value, where) in candidates.items()
    ]


def _link_on_strong_evidence(org_id: int, events: Sequence[InboundEvent], found: dict[ProfileKey, AuthorRow]) -> None:
    """One indexed lookup of every identifier seen in the batch; link where it names one customer.

    An organisation without any customer identifiers (listening only, or no CRM import yet)
    has nothing to link to: one indexed probe then skips the text scanning and the lookup.
    """
    if not CustomerIdentifier.objects.filter(organization_id=org_id).exists():
        return
    evidence = _gather_evidence(events, found)
    if not evidence:
        return
    owners = _identifier_owners(org_id, sorted({v for per in evidence.values() for v in per}))
    if not owners:
        return
    # By profile id only (they are this organisation's profiles): an organisation filter here
    # would tempt SQLite into scanning every link of the organisation.
    rejected = set(
        IdentityLink.objects.filter(
            profile_id__in=[found[k].pk for k in evidence], status=IdentityLink.Status.REJECTED
        ).values_list("profile_id", "customer_id")
    )
    links: list[IdentityLink] = []
    linked: list[AuthorRow] = []
    for key, per in evidence.items():
        p = found[key]
        candidates: dict[int, tuple[str, str]] = {}
        for value, where in per.items():
            for cid in owners.get(value, ()):
                if (p.pk, cid) not in rejected:
                    candidates.setdefault(cid, (value, where))
        if not candidates:
            continue
        links += _links_for(org_id, p, candidates)
        if len(candidates) == 1:
            linked.append(p)
    if linked:
        linked.sort(key=lambda row: row.pk)  # lock order, as above
        fast_update(linked, ["customer"])  # type: ignore[arg-type]
    if links:
        IdentityLink.objects.bulk_create(links)


def customer_values(org_id: int, profiles: dict[ProfileKey, AuthorRow]) -> dict[ProfileKey, float]:
    """Lifetime value of each linked author's customer (one query), for urgency and routing."""
    cids = {p.customer_id for p in profiles.values() if p.customer_id}
    if not cids:
        return {}
    # Primary-key lookup only: with `organization_id = …` in the WHERE clause SQLite picks the
    # organisation index and scans every customer (seconds with a million). The organisation is
    # checked on the rows instead, so another organisation's value can never leak in.
    values = {
        pk: value
        for pk, org, value in Customer.objects.filter(id__in=list(cids)).values_list(
            "id", "organization_id", "lifetime_value"
        )
        if org == org_id
    }
    return {k: float(values.get(p.customer_id, 0) or 0) for k, p in profiles.items() if p.customer_id}
