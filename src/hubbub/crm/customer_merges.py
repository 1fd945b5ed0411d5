"""Two customer records that are one person: merge them, and undo the merge exactly (`MergeRecord` lists
every row that moved)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hubbub import live
from hubbub.crm.models import Customer, IdentityLink, Interaction, MergeRecord, Order, SocialProfile
from hubbub.crm.services import prepare_customer, recompute_customers, sync_identifiers
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

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
        prepare_customer(survivor)
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
        prepare_customer(survivor)
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
