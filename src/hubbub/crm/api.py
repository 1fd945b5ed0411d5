"""CRM API (mounted under /api/v1/): customers, orders, identity links and suggestions,
merge/undo, GDPR export/erase. Endpoints parse, check the scope and call crm.services; the bodies of the
writes are the CRM's inputs (`crm.inputs`), which the customer pages read too."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict, model_validator

from hubbub.api.auth import request_scope
from hubbub.api.schemas import Count, Id, answers
from hubbub.connectors.hubspot import HubSpotError
from hubbub.crm import customer_merges, hubspot_connection, identity_links, privacy, services, sync
from hubbub.crm.inputs import CustomerIn, CustomerPatch, LinkIn, MergeIn
from hubbub.crm.models import Customer, IdentityLink, MergeRecord, Order, SocialProfile
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role, scoped

router = Router(tags=["crm"])


def _customer(scope: Scope, customer_id: int) -> Customer:
    return get_scoped_or_404(Customer.objects.all(), scope, brand_field=None, id=customer_id)


class CustomerOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    address: str
    location: str
    handles: list[str]
    external_id: str
    hubspot_id: str
    tier: str
    lifetime_value: Decimal
    order_count: int
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    custom_fields: dict[str, Any]
    merged_into_id: int | None


class OrderOut(Schema):
    id: int
    customer_id: int
    external_id: str
    ordered_at: datetime
    amount: Decimal
    product: str
    channel: str


class LinkOut(Schema):
    id: int
    profile_id: int
    profile_handle: str
    network: str
    customer_id: int
    method: str
    status: str
    confidence: float
    evidence: dict[str, Any]
    confirmed_by: str | None
    confirmed_at: datetime | None


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    moved: dict[str, list[int]]
    undone_at: datetime | None


class ListParams(Schema):
    q: str = ""
    tier: str = ""
    offset: Count = 0
    limit: int = Field(50, ge=1, le=500)


def _link_out(link: IdentityLink) -> dict[str, Any]:
    return {
        "id": link.pk,
        "profile_id": link.profile_id,
        "profile_handle": link.profile.handle,
        "network": link.profile.network,
        "customer_id": link.customer_id,
        "method": link.method,
        "status": link.status,
        "confidence": link.confidence,
        "evidence": link.evidence,
        "confirmed_by": link.confirmed_by.get_username() if link.confirmed_by else None,
        "confirmed_at": link.confirmed_at,
    }


@router.get("/customers", response=answers(list[CustomerOut]), summary="List customers (highest value first)")
def list_customers(request: HttpRequest, params: Query[ListParams]) -> Any:  # type: ignore[type-arg]
    qs = services.customers_qs(request_scope(request))
    if params.q:
        qs = qs.filter(name__icontains=params.q) | qs.filter(email=params.q.lower())
    if params.tier:
        qs = qs.filter(tier=params.tier)
    return list(qs.order_by("-lifetime_value", "id")[params.offset : params.offset + params.limit])


@router.post("/customers", response=answers({201: CustomerOut}), summary="Create a customer")
def create_customer(request: HttpRequest, body: CustomerIn) -> Any:
    return Status(201, services.create_customer(request_scope(request), body))


@router.get("/customers/{customer_id}", response=answers(CustomerOut, 404))
def get_customer(request: HttpRequest, customer_id: Id) -> Any:
    return _customer(request_scope(request), customer_id)


@router.patch("/customers/{customer_id}", response=answers(CustomerOut, 404))
def patch_customer(request: HttpRequest, customer_id: Id, body: CustomerPatch) -> Any:
    scope = request_scope(request)
    return services.update_customer(scope, _customer(scope, customer_id), body)


@router.get("/customers/{customer_id}/orders", response=answers(list[OrderOut], 404))
def customer_orders(request: HttpRequest, customer_id: Id, limit: int = Query(100, ge=1, le=1000)) -> Any:  # type: ignore[type-arg]
    c = _customer(request_scope(request), customer_id)
    return list(Order.objects.filter(customer=c).order_by("-ordered_at")[:limit])


@router.get("/customers/{customer_id}/links", response=answers(list[LinkOut], 404))
def customer_links(request: HttpRequest, customer_id: Id) -> Any:
    c = _customer(request_scope(request), customer_id)
    return [_link_out(x) for x in IdentityLink.objects.filter(customer=c).select_related("profile", "confirmed_by")]


@router.post(
    "/customers/{customer_id}/links", response=answers({201: LinkOut}, 404), summary="Link a social profile by hand"
)
def link_profile(request: HttpRequest, customer_id: Id, body: LinkIn) -> Any:
    scope = request_scope(request)
    c = _customer(scope, customer_id)
    p = get_scoped_or_404(SocialProfile.objects.all(), scope, brand_field=None, id=body.profile_id)
    return Status(201, _link_out(identity_links.link_profile(scope, p, c)))


@router.get("/crm/suggestions", response=answers(list[LinkOut]), summary="Fuzzy link suggestions waiting for an agent")
def suggestions(request: HttpRequest, limit: int = Query(100, ge=1, le=1000)) -> Any:  # type: ignore[type-arg]
    qs = scoped(IdentityLink.objects.filter(status="suggested"), request_scope(request), brand_field=None)
    return [_link_out(x) for x in qs.select_related("profile", "confirmed_by").order_by("-confidence")[:limit]]


@router.post("/crm/links/{link_id}/confirm", response=answers(LinkOut, 404))
def confirm(request: HttpRequest, link_id: Id) -> Any:
    scope = request_scope(request)
    link = get_scoped_or_404(IdentityLink.objects.select_related("profile"), scope, brand_field=None, id=link_id)
    identity_links.confirm_suggestion(scope, link)
    return _link_out(link)


@router.post("/crm/links/{link_id}/reject", response=answers(LinkOut, 404))
def reject(request: HttpRequest, link_id: Id) -> Any:
    scope = request_scope(request)
    link = get_scoped_or_404(IdentityLink.objects.select_related("profile"), scope, brand_field=None, id=link_id)
    identity_links.reject_suggestion(scope, link)
    return _link_out(link)


@router.post("/customers/{customer_id}/merge", response=answers({201: MergeOut}, 404), summary="Merge another in")
def merge(request: HttpRequest, customer_id: Id, body: MergeIn) -> Any:
    scope = request_scope(request)
    record = customer_merges.merge_customers(scope, _customer(scope, customer_id), _customer(scope, body.other_id))
    return Status(201, record)


@router.post("/crm/merges/{merge_id}/undo", response=answers(MergeOut, 404), summary="Undo a merge")
def undo(request: HttpRequest, merge_id: Id) -> Any:
    scope = request_scope(request)
    record = get_scoped_or_404(MergeRecord.objects.all(), scope, brand_field=None, id=merge_id)
    customer_merges.undo_merge(scope, record)
    record.refresh_from_db()
    return record


@router.get(
    "/customers/{customer_id}/export",
    response=answers(dict[str, Any], 404),
    summary="Everything held about a customer (GDPR access)",
)
def export(request: HttpRequest, customer_id: Id) -> Any:
    scope = request_scope(request)
    return privacy.export_customer_data(scope, _customer(scope, customer_id))


@router.post(
    "/customers/{customer_id}/erase",
    response=answers(dict[str, Any], 404),
    summary="Erase a customer's personal data (GDPR erasure)",
)
def erase(request: HttpRequest, customer_id: Id) -> Any:
    scope = request_scope(request)
    require_role(scope, Role.SUPERVISOR)
    return privacy.erase_customer(scope, _customer(scope, customer_id))


class HubSpotConnectIn(Schema):
    """The tokens only: HubSpot's address is the server's configuration (`HUBBUB_HUBSPOT_BASE_URL`)."""

    model_config = ConfigDict(extra="forbid")  # unknown keys are refused, and `_no_base_url` sees the raw body

    access_token: str
    refresh_token: str
    client_id: str = ""
    client_secret: str = ""

    @model_validator(mode="before")
    @classmethod
    def _no_base_url(cls, data: Any) -> Any:
        """A body that names an address is refused (422) rather than ignored, so a caller pointing the sync
        at another server learns that it cannot; Hubbub would otherwise fetch whatever it names."""
        if isinstance(data, dict) and "base_url" in data:
            raise ValueError("base_url cannot be set through the API; HubSpot's address is the server's configuration")
        return data


@router.post(
    "/crm/hubspot/connect",
    response=answers(dict[str, int]),
    summary="Store HubSpot OAuth tokens (encrypted at rest; admin only)",
)
def hubspot_connect(request: HttpRequest, body: HubSpotConnectIn) -> Any:
    """Admin only: connecting chooses the HubSpot account the whole customer list is synced to."""
    scope = request_scope(request)
    require_role(scope, Role.ADMIN)
    channel = hubspot_connection.connect_hubspot(scope, {k: v for k, v in body.dict().items() if v})
    return {"channel_id": channel.pk}


@router.post(
    "/crm/hubspot/sync",
    response=answers(dict[str, int], 502),
    summary="Pull/push contacts and log conversations as notes now",
)
def hubspot_sync(request: HttpRequest) -> Any:
    """A HubSpot that refuses or cannot be reached is a 502 saying so (what was synced before it stays)."""
    scope = request_scope(request)
    require_role(scope, Role.SUPERVISOR)
    try:
        return sync.sync_hubspot(scope.organization_id, actor=scope.user)
    except (HubSpotError, httpx.HTTPError) as exc:
        return Status(502, {"detail": hubspot_failure(exc)})


def hubspot_failure(exc: Exception) -> str:
    """What the caller is told when HubSpot fails a sync: who failed and what to do, never HubSpot's own
    answer (a remote body is not shown to users)."""
    if isinstance(exc, HubSpotError):
        what = f"HubSpot refused the sync (HTTP {exc.status})"
        if exc.status in (401, 403):
            return f"{what}: the connection is no longer authorised. Reconnect HubSpot in Settings, then sync again."
    else:
        what = "HubSpot could not be reached"
    return f"{what}. What was synced before the failure is kept; try again later."
