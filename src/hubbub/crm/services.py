"""CRM services: resolving authors to customers, tiers, links, merges, the panel, privacy.

Each state change is one plainly named function that writes, audits and publishes;
views, the API, the CLI and the ingest pipeline all call these. `resolve_authors`
runs in the ingest hot path and only issues a fixed handful of bulk queries per batch.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from hubbub import live
from hubbub.connectors.events import InboundEvent
from hubbub.crm import matching
from hubbub.crm.models import (
    Customer,
    CustomerIdentifier,
    IdentityLink,
    Interaction,
    MergeRecord,
    Order,
    SocialProfile,
    TierRules,
)
from hubbub.db import aware, fast_insert_dicts, fast_update, rows_by_external_id
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role, scoped
from hubbub.tenancy.services import audit

ProfileKey = tuple[str, str]
ERASED = "[erased]"


# --------------------------------------------------------------------------- tiers


def tier_rules(org_id: int) -> TierRules:
    """The organisation's rules (defaults are created on first use)."""
    rules, _ = TierRules.objects.get_or_create(organization_id=org_id)
    return rules


def tier_for(rules: TierRules, order_count: int, value: Decimal | float) -> str:
    if order_count <= 0:
        return Customer.Tier.UNKNOWN
    if order_count >= rules.loyal_min_orders or Decimal(str(value)) >= rules.loyal_min_value:
        return Customer.Tier.LOYAL
    if order_count >= rules.regular_min_orders:
        return Customer.Tier.REGULAR
    return Customer.Tier.ONE_TIME


def update_tier_rules(scope: Scope, **values: Any) -> TierRules:
    """Change the loyalty rules and recompute every customer's tier with them."""
    require_role(scope, Role.SUPERVISOR)
    rules = tier_rules(scope.organization_id)
    for k, v in values.items():
        if v is not None and hasattr(rules, k):
            setattr(rules, k, v)
    rules.save()
    recompute_tiers(scope.organization_id)
    audit(scope.organization_id, scope.user, "crm.tier_rules.changed", rules, **{k: str(v) for k, v in values.items()})
    return rules


def recompute_tiers(org_id: int) -> int:
    """Re-apply the tier rules to every customer with three UPDATE statements."""
    rules = tier_rules(org_id)
    base = Customer.objects.filter(organization_id=org_id)
    base.filter(order_count=0).update(tier=Customer.Tier.UNKNOWN)
    base.filter(order_count__gt=0).update(tier=Customer.Tier.ONE_TIME)
    base.filter(order_count__gte=max(1, rules.regular_min_orders)).update(tier=Customer.Tier.REGULAR)
    return base.filter(
        Q(order_count__gte=rules.loyal_min_orders) | Q(order_count__gt=0, lifetime_value__gte=rules.loyal_min_value)
    ).update(tier=Customer.Tier.LOYAL)


def recompute_customers(org_id: int, customer_ids: Iterable[int]) -> None:
    """Refresh order count, lifetime value, first/last purchase and tier from the orders (bulk)."""
    ids = list(set(customer_ids))
    if not ids:
        return
    rules = tier_rules(org_id)
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        agg = {
            row["customer_id"]: row
            for row in Order.objects.filter(organization_id=org_id, customer_id__in=chunk)
            .values("customer_id")
            .annotate(n=Count("id"), v=Sum("amount"), first=Min("ordered_at"), last=Max("ordered_at"))
        }
        # Primary-key lookup, organisation checked on the rows (see customer_values for why).
        rows = [c for c in Customer.objects.filter(id__in=chunk) if c.organization_id == org_id]
        for c in rows:
            a: Mapping[str, Any] = agg.get(c.pk, {})
            c.order_count = a.get("n", 0) or 0
            c.lifetime_value = a.get("v") or Decimal("0")
            c.first_purchase_at = a.get("first")
            c.last_purchase_at = a.get("last")
            c.tier = tier_for(rules, c.order_count, c.lifetime_value)
        fast_update(rows, ["order_count", "lifetime_value", "first_purchase_at", "last_purchase_at", "tier"])


# --------------------------------------------------------------------------- identifiers


def sync_identifiers(org_id: int, customers: Sequence[Customer]) -> None:
    """Rebuild the exact-match keys (email, phone, handles) of these customers."""
    if not customers:
        return
    ids = [c.pk for c in customers]
    for i in range(0, len(ids), 900):
        CustomerIdentifier.objects.filter(organization_id=org_id, customer_id__in=ids[i : i + 900]).delete()
    rows = [
        CustomerIdentifier(organization_id=org_id, customer_id=c.pk, value=v[:260])
        for c in customers
        if c.merged_into_id is None and c.erased_at is None
        for v in matching.identifier_values(c.email, c.phone, c.handles or [])
    ]
    CustomerIdentifier.objects.bulk_create(rows, batch_size=1000)


# --------------------------------------------------------------------------- ingest step


class AuthorRow:
    """A social profile as the ingest batch needs it: a plain row, no `Model.__init__` on the hot path.

    `_meta` lets `fast_update` write these rows exactly as it writes SocialProfile objects.
    """

    __slots__ = (
        "pk",
        "network",
        "external_id",
        "handle",
        "display_name",
        "followers",
        "is_brand_account",
        "customer_id",
        "last_seen_at",
    )
    _meta = SocialProfile._meta
    pk: int
    network: str
    external_id: str
    handle: str
    display_name: str
    followers: int
    is_brand_account: bool
    customer_id: int | None
    last_seen_at: datetime | None


_AUTHOR_COLUMNS = ("id", "handle", "display_name", "followers", "is_brand_account", "customer_id", "last_seen_at")


def _load_authors(org_id: int, keys: Iterable[ProfileKey]) -> dict[ProfileKey, AuthorRow]:
    out: dict[ProfileKey, AuthorRow] = {}
    for (net, ext), (pk, handle, name, followers, brand, cid, seen) in rows_by_external_id(
        SocialProfile, org_id, keys, _AUTHOR_COLUMNS
    ).items():
        r = AuthorRow()
        r.pk, r.network, r.external_id, r.handle, r.display_name = pk, net, ext, handle, name
        r.followers, r.is_brand_account, r.customer_id = followers, bool(brand), cid
        r.last_seen_at = aware(seen)
        out[(net, ext)] = r
    return out


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
    found = _load_authors(org_id, wanted)
    missing = [key for key in wanted if key not in found]
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
        found.update(_load_authors(org_id, missing))
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
        fast_update(changed, ["followers", "last_seen_at"])  # type: ignore[arg-type]
    _link_on_strong_evidence(org_id, events, found)
    return found


def _link_on_strong_evidence(org_id: int, events: Sequence[InboundEvent], found: dict[ProfileKey, AuthorRow]) -> None:
    """One indexed lookup of every identifier seen in the batch; link where it names one customer.

    An organisation without any customer identifiers (listening only, or no CRM import yet)
    has nothing to link to: one indexed probe then skips the text scanning and the lookup.
    """
    if not CustomerIdentifier.objects.filter(organization_id=org_id).exists():
        return
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
    if not evidence:
        return
    values = sorted({v for per in evidence.values() for v in per})
    owners: dict[str, set[int]] = defaultdict(set)
    for i in range(0, len(values), 900):
        for value, cid in CustomerIdentifier.objects.filter(
            organization_id=org_id, value__in=values[i : i + 900]
        ).values_list("value", "customer_id"):
            owners[value].add(cid)
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
        if len(candidates) == 1:
            cid, (value, where) = next(iter(candidates.items()))
            p.customer_id = cid
            linked.append(p)
            links.append(
                IdentityLink(
                    organization_id=org_id,
                    profile_id=p.pk,
                    customer_id=cid,
                    method=value.split(":", 1)[0] if where != "mapping" else "mapping",
                    status=IdentityLink.Status.AUTO,
                    confidence=1.0,
                    evidence={"identifier": value, "seen_in": where},
                )
            )
        elif len(candidates) > 1:  # the same identifier on two customers: ask an agent
            links.extend(
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
            )
    if linked:
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


# --------------------------------------------------------------------------- suggestions & links


@dataclass
class Suggestion:
    customer_id: int
    score: float
    parts: dict[str, float]


def _profile_texts(profile_ids: Sequence[int], per_profile: int = 20) -> dict[int, list[str]]:
    from hubbub.inbox.models import Message

    out: dict[int, list[str]] = defaultdict(list)
    for pid, text in (
        Message.objects.filter(author_id__in=list(profile_ids), direction="in")
        .order_by("-created_at")
        .values_list("author_id", "text")[: 200 * max(1, len(profile_ids))]
    ):
        if len(out[pid]) < per_profile:
            out[pid].append(text)
    return out


def _customer_texts(org_id: int, customer_ids: set[int], per_customer: int = 20) -> dict[int, list[str]]:
    from hubbub.inbox.models import Message

    if not customer_ids:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    ids = sorted(customer_ids)[:2000]
    for cid, text in (
        Message.objects.filter(organization_id=org_id, author__customer_id__in=ids, direction="in")
        .order_by("-created_at")
        .values_list("author__customer_id", "text")[:5000]
    ):
        if len(out[cid]) < per_customer:
            out[cid].append(text)
    return out


def suggest_links(org_id: int, profile_ids: Sequence[int], limit: int = 3) -> list[IdentityLink]:
    """Score unlinked profiles against customers that share a name key; store suggestions.

    Scores at or above the organisation's auto threshold link at once (method "fuzzy"),
    others at or above the suggest threshold wait for an agent. Rejected pairs are skipped.
    """
    rules = tier_rules(org_id)
    profiles = [
        p
        for p in SocialProfile.objects.filter(id__in=list(profile_ids), customer__isnull=True, is_brand_account=False)
        if p.organization_id == org_id
    ]
    if not profiles:
        return []
    keys = {p.pk: matching.candidate_keys(p.display_name, p.handle) for p in profiles}
    all_keys = sorted({k for ks in keys.values() for k in ks})
    # Second block: same formal first name and a last name with the same initial (a typo in
    # the last name rarely hits its first letter), so "Jon Smtih" still finds "Jonathan Smith".
    firsts: dict[int, list[tuple[str, str]]] = {}
    for p in profiles:
        toks = matching.name_tokens(p.display_name)
        firsts[p.pk] = [(toks[0], t[0]) for t in toks[1:] if t] if len(toks) >= 2 else []
    pairs = sorted({fp for v in firsts.values() for fp in v})
    by_key: dict[str, list[Customer]] = defaultdict(list)
    by_first: dict[tuple[str, str], list[Customer]] = defaultdict(list)
    live_customers = Customer.objects.filter(organization_id=org_id, merged_into__isnull=True, erased_at__isnull=True)
    fields = ("id", "name", "location", "name_key", "first_key")
    for i in range(0, len(all_keys), 500):
        for c in live_customers.filter(name_key__in=all_keys[i : i + 500]).only(*fields)[:5000]:
            by_key[c.name_key].append(c)
    for i in range(0, len(pairs), 100):
        q = Q()
        for first, initial in pairs[i : i + 100]:
            q |= Q(first_key=first, name_key__gte=initial, name_key__lt=initial + "\uffff")
        for c in live_customers.filter(q).only(*fields)[:5000]:
            if c.name_key:
                by_first[(c.first_key, c.name_key[0])].append(c)
    existing = set(
        IdentityLink.objects.filter(organization_id=org_id, profile_id__in=[p.pk for p in profiles]).values_list(
            "profile_id", "customer_id"
        )
    )
    texts = _profile_texts([p.pk for p in profiles])
    pools = {
        p.pk: [c for k in keys[p.pk] for c in by_key.get(k, [])]
        + [c for fp in firsts[p.pk] for c in by_first.get(fp, [])]
        for p in profiles
    }
    # Writing similarity: what the candidate customers wrote from their already linked profiles.
    customer_texts = _customer_texts(org_id, {c.pk for pool in pools.values() for c in pool})
    created: list[IdentityLink] = []
    auto: list[SocialProfile] = []
    for p in profiles:
        facts = matching.ProfileFacts(p.display_name, p.handle, p.location, texts.get(p.pk, []))
        seen: dict[int, Suggestion] = {}
        for c in pools[p.pk]:
            if c.pk in seen or (p.pk, c.pk) in existing:
                continue
            cfacts = matching.CustomerFacts(c.name, c.location, customer_texts.get(c.pk, []))
            score, parts = matching.score_pair(facts, cfacts)
            seen[c.pk] = Suggestion(c.pk, score, parts)
        ranked = sorted(seen.values(), key=lambda s: -s.score)[:limit]
        for rank, s in enumerate(ranked):
            if s.score < rules.suggest_threshold:
                continue
            is_auto = (
                rank == 0
                and s.score >= rules.auto_link_threshold
                and (len(ranked) == 1 or ranked[1].score < s.score - 0.05)
            )
            created.append(
                IdentityLink(
                    organization_id=org_id,
                    profile_id=p.pk,
                    customer_id=s.customer_id,
                    method="fuzzy",
                    status=IdentityLink.Status.AUTO if is_auto else IdentityLink.Status.SUGGESTED,
                    confidence=s.score,
                    evidence=s.parts,
                )
            )
            if is_auto:
                p.customer_id = s.customer_id
                auto.append(p)
                break
    IdentityLink.objects.bulk_create(created)
    if auto:
        fast_update(auto, ["customer"])
    if created:
        live.publish("crm.suggestions", org_id, count=len(created))
    return created


def link_profile(scope: Scope, profile: SocialProfile, customer: Customer, method: str = "manual") -> IdentityLink:
    """An agent links a profile to a customer by hand."""
    require_role(scope, Role.AGENT)
    with transaction.atomic():
        link = IdentityLink.objects.create(
            organization_id=scope.organization_id,
            profile=profile,
            customer=customer,
            method=method,
            status=IdentityLink.Status.CONFIRMED,
            confidence=1.0,
            confirmed_by=scope.user,
            confirmed_at=timezone.now(),
        )
        _attach(profile, customer.pk)
        audit(scope.organization_id, scope.user, "crm.profile.linked", profile, customer=customer.pk, method=method)
    live.publish("crm.customer", scope.organization_id, customer_id=customer.pk)
    return link


def _attach(profile: SocialProfile, customer_id: int | None) -> None:
    profile.customer_id = customer_id
    profile.save(update_fields=["customer"])
    # Other open suggestions for this profile are moot once it is linked.
    if customer_id is not None:
        IdentityLink.objects.filter(profile=profile, status=IdentityLink.Status.SUGGESTED).exclude(
            customer_id=customer_id
        ).delete()


def confirm_suggestion(scope: Scope, link: IdentityLink) -> IdentityLink:
    """The agent agrees: the profile is this customer. Keeps method and score, records who and when."""
    require_role(scope, Role.AGENT)
    with transaction.atomic():
        link.status = IdentityLink.Status.CONFIRMED
        link.confirmed_by = scope.user  # type: ignore[assignment]
        link.confirmed_at = timezone.now()
        link.save(update_fields=["status", "confirmed_by", "confirmed_at"])
        _attach(link.profile, link.customer_id)
        audit(
            scope.organization_id,
            scope.user,
            "crm.link.confirmed",
            link,
            profile=link.profile_id,
            customer=link.customer_id,
            confidence=link.confidence,
        )
    live.publish("crm.customer", scope.organization_id, customer_id=link.customer_id)
    return link


def reject_suggestion(scope: Scope, link: IdentityLink) -> IdentityLink:
    """The agent disagrees; the pair is remembered so it is never suggested or auto-linked again."""
    require_role(scope, Role.AGENT)
    with transaction.atomic():
        was_linked = link.profile.customer_id == link.customer_id
        link.status = IdentityLink.Status.REJECTED
        link.confirmed_by = scope.user  # type: ignore[assignment]
        link.confirmed_at = timezone.now()
        link.save(update_fields=["status", "confirmed_by", "confirmed_at"])
        if was_linked:
            _attach(link.profile, None)
        audit(
            scope.organization_id,
            scope.user,
            "crm.link.rejected",
            link,
            profile=link.profile_id,
            customer=link.customer_id,
        )
    live.publish("crm.customer", scope.organization_id, customer_id=link.customer_id)
    return link


# --------------------------------------------------------------------------- customers


EDITABLE = ("name", "email", "phone", "address", "location", "handles", "external_id", "custom_fields")


def _prepare(c: Customer) -> None:
    c.email = (c.email or "").strip().lower()
    c.handles = sorted({matching.norm_handle(h) for h in (c.handles or []) if matching.norm_handle(h)})
    c.name_key = matching.name_key(c.name)
    c.first_key = matching.first_key(c.name)


def create_customer(scope: Scope, **fields: Any) -> Customer:
    require_role(scope, Role.AGENT)
    c = Customer(organization_id=scope.organization_id, **{k: v for k, v in fields.items() if k in EDITABLE})
    _prepare(c)
    with transaction.atomic():
        c.save()
        sync_identifiers(scope.organization_id, [c])
        audit(scope.organization_id, scope.user, "crm.customer.created", c)
    live.publish("crm.customer", scope.organization_id, customer_id=c.pk)
    return c


def update_customer(scope: Scope, customer: Customer, **fields: Any) -> Customer:
    require_role(scope, Role.AGENT)
    changed = {k: v for k, v in fields.items() if k in EDITABLE and v is not None and getattr(customer, k) != v}
    for k, v in changed.items():
        setattr(customer, k, v)
    _prepare(customer)
    with transaction.atomic():
        customer.save()
        sync_identifiers(scope.organization_id, [customer])
        audit(scope.organization_id, scope.user, "crm.customer.updated", customer, fields=sorted(changed))
    live.publish("crm.customer", scope.organization_id, customer_id=customer.pk)
    return customer


def log_interaction(scope: Scope, customer: Customer, kind: str, text: str, score: int | None = None) -> Interaction:
    """An agent logs a phone call, an email or a note; it shows in the customer's history everywhere."""
    require_role(scope, Role.AGENT)
    if kind not in Interaction.Kind.values:
        raise ValueError(f"Unknown kind {kind!r}")
    if not text.strip() and score is None:
        raise ValueError("Write what happened.")
    it = Interaction.objects.create(
        organization_id=scope.organization_id,
        customer=customer,
        kind=kind,
        text=text.strip()[:5000],
        score=score,
        author=scope.user,
        occurred_at=timezone.now(),
    )
    audit(scope.organization_id, scope.user, "crm.interaction.logged", it, customer=customer.pk, kind=kind)
    live.publish("crm.customer", scope.organization_id, customer_id=customer.pk)
    return it


# --------------------------------------------------------------------------- merge / undo


_MERGE_FIELDS = (
    "name",
    "email",
    "phone",
    "address",
    "location",
    "handles",
    "external_id",
    "hubspot_id",
    "custom_fields",
)


def merge_customers(scope: Scope, survivor: Customer, merged: Customer) -> MergeRecord:
    """Fold `merged` into `survivor`: profiles, orders, links, interactions move; blanks are filled.

    The merged row stays (pointing at the survivor) and the record lists every moved row,
    so `undo_merge` puts each one back exactly.
    """
    require_role(scope, Role.AGENT)
    if survivor.pk == merged.pk:
        raise ValueError("A customer cannot be merged into itself.")
    if survivor.merged_into_id or merged.merged_into_id:
        raise ValueError("One of these customers was already merged.")
    org = scope.organization_id
    with transaction.atomic():
        moved = {
            "profiles": list(
                SocialProfile.objects.filter(organization_id=org, customer=merged).values_list("id", flat=True)
            ),
            "orders": list(Order.objects.filter(organization_id=org, customer=merged).values_list("id", flat=True)),
            "links": list(
                IdentityLink.objects.filter(organization_id=org, customer=merged).values_list("id", flat=True)
            ),
            "interactions": list(
                Interaction.objects.filter(organization_id=org, customer=merged).values_list("id", flat=True)
            ),
        }
        before = {k: getattr(survivor, k) for k in _MERGE_FIELDS}
        SocialProfile.objects.filter(id__in=moved["profiles"]).update(customer=survivor)
        Order.objects.filter(id__in=moved["orders"]).update(customer=survivor)
        IdentityLink.objects.filter(id__in=moved["links"]).update(customer=survivor)
        Interaction.objects.filter(id__in=moved["interactions"]).update(customer=survivor)
        for k in _MERGE_FIELDS:
            if k == "handles":
                survivor.handles = sorted(set(survivor.handles or []) | set(merged.handles or []))
            elif k == "custom_fields":
                survivor.custom_fields = {**(merged.custom_fields or {}), **(survivor.custom_fields or {})}
            elif not getattr(survivor, k) and getattr(merged, k):
                setattr(survivor, k, getattr(merged, k))
        _prepare(survivor)
        survivor.save()
        merged.merged_into = survivor
        merged.save(update_fields=["merged_into"])
        record = MergeRecord.objects.create(
            organization_id=org, survivor=survivor, merged=merged, moved=moved, survivor_before=before, actor=scope.user
        )
        sync_identifiers(org, [survivor, merged])
        recompute_customers(org, [survivor.pk, merged.pk])
        audit(
            org,
            scope.user,
            "crm.customer.merged",
            survivor,
            merged=merged.pk,
            record=record.pk,
            moved={k: len(v) for k, v in moved.items()},
        )
    live.publish("crm.customer", org, customer_id=survivor.pk)
    return record


def undo_merge(scope: Scope, record: MergeRecord) -> Customer:
    """Put every moved row back and restore the survivor's fields as they were before the merge."""
    require_role(scope, Role.AGENT)
    if record.undone_at:
        raise ValueError("This merge was already undone.")
    org = scope.organization_id
    with transaction.atomic():
        merged, survivor = record.merged, record.survivor
        m = record.moved
        SocialProfile.objects.filter(organization_id=org, id__in=m.get("profiles", [])).update(customer=merged)
        Order.objects.filter(organization_id=org, id__in=m.get("orders", [])).update(customer=merged)
        IdentityLink.objects.filter(organization_id=org, id__in=m.get("links", [])).update(customer=merged)
        Interaction.objects.filter(organization_id=org, id__in=m.get("interactions", [])).update(customer=merged)
        for k, v in record.survivor_before.items():
            setattr(survivor, k, v)
        _prepare(survivor)
        survivor.save()
        merged.merged_into = None
        merged.save(update_fields=["merged_into"])
        record.undone_at = timezone.now()
        record.undone_by = scope.user  # type: ignore[assignment]
        record.save(update_fields=["undone_at", "undone_by"])
        sync_identifiers(org, [survivor, merged])
        recompute_customers(org, [survivor.pk, merged.pk])
        audit(org, scope.user, "crm.customer.unmerged", survivor, merged=merged.pk, record=record.pk)
    live.publish("crm.customer", org, customer_id=merged.pk)
    return merged


# --------------------------------------------------------------------------- customer panel


def _sparkline(values: list[float], width: int = 120, height: int = 24) -> str:
    """SVG polyline points for sentiment scores in [-1, 1], oldest first."""
    if len(values) < 2:
        return ""
    step = width / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{(1 - (max(-1.0, min(1.0, v)) + 1) / 2) * height:.1f}" for i, v in enumerate(values)
    )


def panel_context(scope: Scope, conversation: Any) -> dict[str, Any]:
    """Everything the customer panel beside a conversation shows, with bounded, indexed queries."""
    from hubbub.inbox.models import Conversation

    author = conversation.author
    customer = author.customer if author.customer_id else None
    if customer is not None and customer.merged_into_id:
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    if customer is not None:
        profiles = list(SocialProfile.objects.filter(organization_id=scope.organization_id, customer=customer)[:50])
    else:
        profiles = [author]
    profile_ids = [p.pk for p in profiles]
    convs = scoped(Conversation.objects.filter(author_id__in=profile_ids), scope).exclude(pk=conversation.pk)
    open_convs = list(convs.exclude(status="resolved").select_related("brand").order_by("-last_message_at")[:10])
    past_convs = list(convs.filter(status="resolved").select_related("brand").order_by("-last_message_at")[:10])
    trend = list(
        scoped(Conversation.objects.filter(author_id__in=profile_ids), scope)
        .exclude(sentiment="")
        .order_by("-last_message_at")
        .values_list("sentiment_score", flat=True)[:30]
    )[::-1]
    ctx: dict[str, Any] = {
        "crm_customer": customer,
        "crm_profiles": profiles,
        "crm_open": open_convs,
        "crm_past": past_convs,
        "crm_conversation_total": convs.count(),
        "crm_trend_points": _sparkline(trend),
        "crm_trend_last": trend[-1] if trend else None,
        "crm_suggestions": list(
            IdentityLink.objects.filter(
                organization_id=scope.organization_id, profile=author, status=IdentityLink.Status.SUGGESTED
            )
            .select_related("customer")
            .order_by("-confidence")[:3]
        ),
        "crm_conversation": conversation,
    }
    if customer is not None:
        ctx["crm_orders"] = list(Order.objects.filter(customer=customer).order_by("-ordered_at")[:5])
        ctx["crm_interactions"] = list(
            Interaction.objects.filter(customer=customer).exclude(kind="csat").select_related("author")[:5]
        )
        ctx["crm_csat"] = Interaction.objects.filter(customer=customer, kind="csat").order_by("-occurred_at").first()
        ctx["crm_link"] = (
            IdentityLink.objects.filter(profile=author, customer=customer)
            .exclude(status=IdentityLink.Status.REJECTED)
            .select_related("confirmed_by")
            .order_by("-created_at")
            .first()
        )
    return ctx


# --------------------------------------------------------------------------- privacy


def export_customer_data(scope: Scope, customer: Customer) -> dict[str, Any]:
    """Everything Hubbub holds about one customer (GDPR access request), as JSON-ready data."""
    from hubbub.inbox.models import Message

    require_role(scope, Role.SUPERVISOR)
    profiles = list(SocialProfile.objects.filter(organization_id=scope.organization_id, customer=customer))
    data = {
        "customer": {
            k: (str(v) if v is not None and not isinstance(v, (list, dict, int, str)) else v)
            for k, v in (
                (f.name, getattr(customer, f.attname))
                for f in Customer._meta.concrete_fields
                if f.name not in ("organization", "merged_into")
            )
        },
        "profiles": [
            {
                "network": p.network,
                "external_id": p.external_id,
                "handle": p.handle,
                "display_name": p.display_name,
                "location": p.location,
                "first_seen_at": str(p.first_seen_at),
                "last_seen_at": str(p.last_seen_at),
            }
            for p in profiles
        ],
        "messages": [
            {
                "network": m.network,
                "external_id": m.external_id,
                "direction": m.direction,
                "text": m.text,
                "created_at": m.created_at.isoformat(),
            }
            for m in Message.objects.filter(
                organization_id=scope.organization_id, author_id__in=[p.pk for p in profiles]
            ).order_by("created_at")
        ],
        "orders": [
            {
                "external_id": o.external_id,
                "ordered_at": o.ordered_at.isoformat(),
                "amount": str(o.amount),
                "product": o.product,
                "channel": o.channel,
            }
            for o in Order.objects.filter(customer=customer)
        ],
        "interactions": [
            {"kind": i.kind, "text": i.text, "score": i.score, "occurred_at": i.occurred_at.isoformat()}
            for i in Interaction.objects.filter(customer=customer)
        ],
        "links": [
            {
                "profile": link.profile_id,
                "method": link.method,
                "status": link.status,
                "confidence": link.confidence,
                "confirmed_at": str(link.confirmed_at),
            }
            for link in IdentityLink.objects.filter(customer=customer)
        ],
    }
    audit(scope.organization_id, scope.user, "crm.customer.exported", customer)
    json.dumps(data)  # fail here, not in the view, if something is not serialisable
    return data


def erase_customer(scope: Scope, customer: Customer) -> dict[str, int]:
    """Erase personal data on request: the customer's fields, linked profiles, their message texts.

    Counts stay for reports: orders keep amount and date, messages keep their analysis labels,
    conversations keep their numbers; the audit log records that the erasure happened.
    """
    from hubbub.inbox.models import Conversation, Message
    from hubbub.ingest.models import RawEvent

    require_role(scope, Role.SUPERVISOR)
    org = scope.organization_id
    with transaction.atomic():
        profiles = list(SocialProfile.objects.filter(organization_id=org, customer=customer))
        pids = [p.pk for p in profiles]
        msgs = Message.objects.filter(organization_id=org, author_id__in=pids)
        keys = list(msgs.values_list("network", "external_id"))
        n_messages = msgs.update(text=ERASED, url="", analysis={})
        Conversation.objects.filter(organization_id=org, author_id__in=pids).update(preview=ERASED, search_text="")
        by_net: dict[str, list[str]] = defaultdict(list)
        for net, ext in keys:
            by_net[net].append(ext)
        raws: list[RawEvent] = []
        for net, exts in by_net.items():
            for i in range(0, len(exts), 900):
                raws.extend(
                    RawEvent.objects.filter(organization_id=org, network=net, external_id__in=exts[i : i + 900])
                )
        for r in raws:
            r.payload = {
                **r.payload,
                "text": ERASED,
                "author_name": "",
                "author_handle": "",
                "author_location": "",
                "url": "",
                "extra": {},
            }
        if raws:
            RawEvent.objects.bulk_update(raws, ["payload"], batch_size=500)
        for p in profiles:
            p.handle = f"erased-{p.pk}"
            p.display_name = ""
            p.location = ""
        if profiles:
            SocialProfile.objects.bulk_update(profiles, ["handle", "display_name", "location"])
        Interaction.objects.filter(customer=customer).update(text=ERASED)
        IdentityLink.objects.filter(customer=customer).update(evidence={})
        CustomerIdentifier.objects.filter(customer=customer).delete()
        for k in ("email", "phone", "address", "location", "external_id", "hubspot_id", "name_key"):
            setattr(customer, k, "")
        customer.name = ERASED
        customer.handles = []
        customer.custom_fields = {}
        customer.erased_at = timezone.now()
        customer.save()
        counts = {"profiles": len(profiles), "messages": n_messages, "orders": customer.orders.count()}
        audit(org, scope.user, "crm.customer.erased", customer, **counts)
    live.publish("crm.customer", org, customer_id=customer.pk)
    return counts


def customers_qs(scope: Scope):  # type: ignore[no-untyped-def]
    """Live (not merged) customers of the scope's organisation."""
    return scoped(Customer.objects.all(), scope, brand_field=None).filter(merged_into__isnull=True)
