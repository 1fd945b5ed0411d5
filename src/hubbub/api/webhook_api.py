"""Integrator webhooks in the REST API (mounted under /api/v1/ by `api_site`): the same services as
Settings → Webhooks, admins only, scoped to the caller's organisation (another's endpoint is a 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from hubbub.api import webhook_admin as admin
from hubbub.api.auth import request_scope
from hubbub.api.schemas import Id, answers
from hubbub.api.webhook_models import WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhooks"])


class EndpointIn(Schema):
    url: str = Field(max_length=500)
    events: list[str] = Field(max_length=10)
    description: str = Field("", max_length=200)


class EndpointPatch(Schema):
    active: bool


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    paused_reason: str
    consecutive_failures: int
    created_at: datetime


class CreatedEndpointOut(EndpointOut):
    secret: str  # shown only in this answer; sign-check deliveries with it


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    event_type: str
    event_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_outcome: str
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


def _endpoint_out(e: WebhookEndpoint) -> dict[str, Any]:
    return {f: getattr(e, f) for f in EndpointOut.model_fields}


def _delivery_out(d: WebhookDelivery) -> dict[str, Any]:
    return {f: getattr(d, f) for f in DeliveryOut.model_fields}


@router.get("/webhooks", response=answers(list[EndpointOut]), summary="List webhook endpoints")
def list_endpoints(request: HttpRequest) -> Any:
    return [_endpoint_out(e) for e in admin.endpoints_of(request_scope(request))]


@router.post("/webhooks", response=answers({201: CreatedEndpointOut}), summary="Add a webhook endpoint")
def create_endpoint(request: HttpRequest, body: EndpointIn) -> Any:
    """The answer carries the signing secret, which is never shown again. A URL Hubbub may not send to
    (private, loopback, reserved address) is refused with 400 and the reason."""
    endpoint, secret = admin.create_endpoint(request_scope(request), body.url, body.events, body.description)
    return Status(201, {**_endpoint_out(endpoint), "secret": secret})


@router.get("/webhooks/{endpoint_id}", response=answers(EndpointOut, 404), summary="One webhook endpoint")
def get_endpoint(request: HttpRequest, endpoint_id: Id) -> Any:
    return _endpoint_out(admin.endpoint_or_404(request_scope(request), endpoint_id))


@router.patch("/webhooks/{endpoint_id}", response=answers(EndpointOut, 404), summary="Pause or resume")
def patch_endpoint(request: HttpRequest, endpoint_id: Id, body: EndpointPatch) -> Any:
    scope = request_scope(request)
    return _endpoint_out(admin.set_active(scope, admin.endpoint_or_404(scope, endpoint_id), body.active))


@router.delete("/webhooks/{endpoint_id}", response=answers({204: None}, 404), summary="Delete an endpoint")
def delete_endpoint(request: HttpRequest, endpoint_id: Id) -> Any:
    scope = request_scope(request)
    admin.delete_endpoint(scope, admin.endpoint_or_404(scope, endpoint_id))
    return Status(204, None)


@router.post("/webhooks/{endpoint_id}/test", response=answers({202: DeliveryOut}, 404), summary="Send a test event")
def test_endpoint(request: HttpRequest, endpoint_id: Id) -> Any:
    scope = request_scope(request)
    return Status(202, _delivery_out(admin.send_test(scope, admin.endpoint_or_404(scope, endpoint_id))))


@router.get("/webhooks/{endpoint_id}/deliveries", response=answers(list[DeliveryOut], 404), summary="The delivery log")
def list_deliveries(request: HttpRequest, endpoint_id: Id) -> Any:
    """Latest first, at most 100."""
    scope = request_scope(request)
    return [_delivery_out(d) for d in admin.deliveries_of(scope, admin.endpoint_or_404(scope, endpoint_id))]


@router.post("/webhooks/deliveries/{delivery_id}/resend", response=answers({202: DeliveryOut}, 404), summary="Resend")
def resend_delivery(request: HttpRequest, delivery_id: Id) -> Any:
    """A new delivery with the same event id and payload."""
    scope = request_scope(request)
    return Status(202, _delivery_out(admin.resend(scope, admin.delivery_or_404(scope, delivery_id))))
