"""CRM services: customers' records, tiers and exact-match identifiers.

Each state change is one plainly named function that writes, audits and publishes; views, the API, the CLI
and the imports call these. The other concerns of the CRM have modules of their own:

- `authors`: the ingest step, resolving authors to profiles and customers on strong evidence;
- `identity_links`: fuzzy link suggestions and an agent's link / confirm / reject;
- `customer_merges`: merge two customers, and undo it exactly;
- `panel`: the customer panel beside a conversation;
- `privacy`: GDPR export and erasure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from hubbub import live
from hubbub.crm import matching
from hubbub.crm.inputs import CustomerIn, CustomerPatch, InteractionIn, TierRulesIn
from hubbub.crm.models import Customer, CustomerIdentifier, Interaction, Order, TierRules
from hubbub.db import fast_update
from hubbub.inputs import checked
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role, scoped
from hubbub.tenancy.services import audit

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


def update_tier_rules(scope: Scope, data: TierRulesIn) -> TierRules:
    """Change the loyalty rules and recompute every customer's tier with them."""
    require_role(scope, Role.SUPERVISOR)
    rules = tier_rules(scope.organization_id)
    values = data.model_dump(exclude_none=True)
    for k, v in values.items():
        if v is not None and hasattr(rules, k):
            setattr(rules, k, v)
    try:  # a number the column cannot hold (negative, beyond its integers) is the user's to correct, not a 500
        rules.full_clean(exclude=["organization"])
    except ValidationError as exc:
        raise ValueError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
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


# --------------------------------------------------------------------------- customers


EDITABLE = ("name", "email", "phone", "address", "location", "handles", "external_id", "custom_fields")


def prepare_customer(c: Customer) -> None:
    """Normalise what matching reads (email, handles) and derive the name keys, before every save."""
    c.email = (c.email or "").strip().lower()
    c.handles = sorted({matching.norm_handle(h) for h in (c.handles or []) if matching.norm_handle(h)})
    c.name_key = matching.name_key(c.name)
    c.first_key = matching.first_key(c.name)


def create_customer(scope: Scope, data: CustomerIn) -> Customer:
    require_role(scope, Role.AGENT)
    fields = data.model_dump()
    c = Customer(organization_id=scope.organization_id, **{k: v for k, v in fields.items() if k in EDITABLE})
    prepare_customer(c)
    with transaction.atomic():
        c.save()
        sync_identifiers(scope.organization_id, [c])
        audit(scope.organization_id, scope.user, "crm.customer.created", c)
    live.publish("crm.customer", scope.organization_id, customer_id=c.pk)
    return c


def update_customer(scope: Scope, customer: Customer, data: CustomerPatch) -> Customer:
    require_role(scope, Role.AGENT)
    fields = data.model_dump(exclude_none=True)
    changed = {k: v for k, v in fields.items() if k in EDITABLE and v is not None and getattr(customer, k) != v}
    for k, v in changed.items():
        setattr(customer, k, v)
    prepare_customer(customer)
    with transaction.atomic():
        customer.save()
        sync_identifiers(scope.organization_id, [customer])
        audit(scope.organization_id, scope.user, "crm.customer.updated", customer, fields=sorted(changed))
    live.publish("crm.customer", scope.organization_id, customer_id=customer.pk)
    return customer


def log_interaction(scope: Scope, customer: Customer, kind: str, text: str, score: int | None = None) -> Interaction:
    """An agent logs a phone call, an email or a note; it shows in the customer's history everywhere."""
    require_role(scope, Role.AGENT)
    data = checked(InteractionIn, kind=kind, text=text, score=score)  # the form's rule, for every caller
    it = Interaction.objects.create(
        organization_id=scope.organization_id,
        customer=customer,
        kind=data.kind,
        text=data.text,
        score=data.score,
        author=scope.user,
        occurred_at=timezone.now(),
    )
    audit(scope.organization_id, scope.user, "crm.interaction.logged", it, customer=customer.pk, kind=kind)
    live.publish("crm.customer", scope.organization_id, customer_id=customer.pk)
    return it


def customers_qs(scope: Scope):  # type: ignore[no-untyped-def]
    """Live (not merged) customers of the scope's organisation."""
    return scoped(Customer.objects.all(), scope, brand_field=None).filter(merged_into__isnull=True)
