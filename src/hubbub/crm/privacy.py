"""Data-protection requests about one customer: export everything Hubbub holds (access), or erase the
personal data (erasure) while the anonymous counts stay for reports."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from hubbub import live
from hubbub.crm.models import Customer, CustomerIdentifier, IdentityLink, Interaction, Order, SocialProfile
from hubbub.crm.signals import customer_erased
from hubbub.inbox.models import Conversation, Message
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

ERASED = "[erased]"


def export_customer_data(scope: Scope, customer: Customer) -> dict[str, Any]:
    """Everything Hubbub holds about one customer (GDPR access request), as JSON-ready data."""
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

    The copies of their messages kept by the apps above the CRM (ingest's raw event log and quarantine) are
    erased by the receivers of `crm.signals.customer_erased`, in the same transaction; with no receiver
    connected the erasure is refused rather than done in part.

    Counts stay for reports: orders keep amount and date, messages keep their analysis labels,
    conversations keep their numbers; the audit log records that the erasure happened.
    """
    require_role(scope, Role.SUPERVISOR)
    if not customer_erased.has_listeners(Customer):
        # Erasing the CRM's copy while the raw copies stay would leave personal data behind: refuse instead.
        raise ImproperlyConfigured("Nothing erases the raw events of a customer: is hubbub.ingest installed?")
    org = scope.organization_id
    with transaction.atomic():
        profiles = list(SocialProfile.objects.filter(organization_id=org, customer=customer))
        pids = [p.pk for p in profiles]
        msgs = Message.objects.filter(organization_id=org, author_id__in=pids)
        keys = list(msgs.values_list("network", "external_id"))
        n_messages = msgs.update(text=ERASED, url="", analysis={})
        Conversation.objects.filter(organization_id=org, author_id__in=pids).update(preview=ERASED, search_text="")
        customer_erased.send(sender=Customer, organization_id=org, customer_id=customer.pk, message_keys=keys)
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
