"""Links between social profiles and customers beyond exact evidence: fuzzy suggestions scored on name,
place and writing (`suggest_links`), and an agent's hand link, confirmation or rejection of one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hubbub import live
from hubbub.crm import matching
from hubbub.crm.models import Customer, IdentityLink, SocialProfile, TierRules
from hubbub.crm.services import tier_rules
from hubbub.db import fast_update
from hubbub.inbox.models import Message
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit


@dataclass
class Suggestion:
    customer_id: int
    score: float
    parts: dict[str, float]


def _profile_texts(profile_ids: Sequence[int], per_profile: int = 20) -> dict[int, list[str]]:
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


def _first_name_blocks(profiles: Sequence[SocialProfile]) -> dict[int, list[tuple[str, str]]]:
    """Second block: same formal first name and a last name with the same initial (a typo in the last name
    rarely hits its first letter), so "Jon Smtih" still finds "Jonathan Smith"."""
    firsts: dict[int, list[tuple[str, str]]] = {}
    for p in profiles:
        toks = matching.name_tokens(p.display_name)
        firsts[p.pk] = [(toks[0], t[0]) for t in toks[1:] if t] if len(toks) >= 2 else []
    return firsts


def _candidate_pools(org_id: int, profiles: Sequence[SocialProfile]) -> dict[int, list[Customer]]:
    """Each profile's candidate customers: those sharing a name key, or a first name and last initial."""
    keys = {p.pk: matching.candidate_keys(p.display_name, p.handle) for p in profiles}
    all_keys = sorted({k for ks in keys.values() for k in ks})
    firsts = _first_name_blocks(profiles)
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
    return {
        p.pk: [c for k in keys[p.pk] for c in by_key.get(k, [])]
        + [c for fp in firsts[p.pk] for c in by_first.get(fp, [])]
        for p in profiles
    }


def _ranked(
    p: SocialProfile,
    pool: list[Customer],
    texts: list[str],
    customer_texts: dict[int, list[str]],
    existing: set[tuple[int, int]],
    limit: int,
) -> list[Suggestion]:
    """The `limit` best-scoring candidates for one profile, best first (pairs already linked or refused skipped)."""
    facts = matching.ProfileFacts(p.display_name, p.handle, p.location, texts)
    seen: dict[int, Suggestion] = {}
    for c in pool:
        if c.pk in seen or (p.pk, c.pk) in existing:
            continue
        cfacts = matching.CustomerFacts(c.name, c.location, customer_texts.get(c.pk, []))
        score, parts = matching.score_pair(facts, cfacts)
        seen[c.pk] = Suggestion(c.pk, score, parts)
    return sorted(seen.values(), key=lambda s: -s.score)[:limit]


def _links_from(org_id: int, p: SocialProfile, ranked: list[Suggestion], rules: TierRules) -> list[IdentityLink]:
    """Suggestions above the threshold; the best links at once (and `p` in memory) when it is clearly ahead."""
    created: list[IdentityLink] = []
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
            break
    return created


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
    pools = _candidate_pools(org_id, profiles)
    existing = set(
        IdentityLink.objects.filter(organization_id=org_id, profile_id__in=[p.pk for p in profiles]).values_list(
            "profile_id", "customer_id"
        )
    )
    texts = _profile_texts([p.pk for p in profiles])
    # Writing similarity: what the candidate customers wrote from their already linked profiles.
    customer_texts = _customer_texts(org_id, {c.pk for pool in pools.values() for c in pool})
    created: list[IdentityLink] = []
    auto: list[SocialProfile] = []
    for p in profiles:
        ranked = _ranked(p, pools[p.pk], texts.get(p.pk, []), customer_texts, existing, limit)
        links = _links_from(org_id, p, ranked, rules)
        created += links
        if any(link.status == IdentityLink.Status.AUTO for link in links):
            auto.append(p)
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
