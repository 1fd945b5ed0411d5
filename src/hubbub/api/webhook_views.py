"""Settings → Webhooks, for an organisation's admins: the endpoints with their state, a form to add one (its
signing secret shown once, with how to verify it), pause/resume, delete, a test event, and each endpoint's
delivery log with Resend. Every action is a service of `webhook_admin` (role check, scope, audit)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub.api import webhook_admin as admin
from hubbub.api.webhook_api import EndpointIn
from hubbub.api.webhook_models import EVENT_TYPES
from hubbub.inputs import InvalidInput, form_input
from hubbub.tenancy.scoping import Scope
from hubbub.web.views.common import scoped_view

SECRET_SESSION_KEY = "api_new_webhook_secret"  # shown on the next page load, then forgotten


@scoped_view
def webhooks_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    endpoints = list(admin.endpoints_of(scope))
    return render(
        request,
        "api/webhooks.html",
        {
            "endpoints": endpoints,
            "paused_by_failures": [e for e in endpoints if not e.active and e.consecutive_failures],
            "event_types": EVENT_TYPES,
            "new_secret": request.session.pop(SECRET_SESSION_KEY, None),
        },
    )


@require_POST
@scoped_view
def webhook_create(request: HttpRequest, scope: Scope) -> HttpResponse:
    try:
        form = form_input(EndpointIn, request.POST)  # the body of `POST /api/v1/webhooks`
        endpoint, secret = admin.create_endpoint(scope, form.url, form.events, form.description)
    except (InvalidInput, admin.WebhookError) as exc:
        messages.error(request, f"Endpoint not added. {exc}")
        return redirect("webhooks:list")
    request.session[SECRET_SESSION_KEY] = {"url": endpoint.url, "secret": secret}
    return redirect("webhooks:list")


@scoped_view
def webhook_detail(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    endpoint = admin.endpoint_or_404(scope, endpoint_id)
    return render(
        request,
        "api/webhook_detail.html",
        {"endpoint": endpoint, "deliveries": admin.deliveries_of(scope, endpoint)},
    )


@require_POST
@scoped_view
def webhook_toggle(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    endpoint = admin.endpoint_or_404(scope, endpoint_id)
    admin.set_active(scope, endpoint, not endpoint.active)
    if endpoint.active:
        messages.success(request, f"{endpoint.url} resumed: waiting deliveries go out within a minute.")
    else:
        messages.success(request, f"{endpoint.url} paused: events are kept and sent when you resume it.")
    return redirect("webhooks:list")


@require_POST
@scoped_view
def webhook_delete(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    endpoint = admin.endpoint_or_404(scope, endpoint_id)
    admin.delete_endpoint(scope, endpoint)
    messages.success(request, f"{endpoint.url} deleted: it receives nothing more.")
    return redirect("webhooks:list")


def _queue_and_report(
    request: HttpRequest, queue: Callable[[], object], endpoint_id: int, done: str, refused: str
) -> HttpResponse:
    """Run a queuing action and say what happened on the endpoint's page (its log shows the outcome)."""
    try:
        queue()
    except admin.WebhookError as exc:
        messages.error(request, f"{refused} {exc}")
    else:
        messages.success(request, done)
    return redirect("webhooks:detail", endpoint_id=endpoint_id)


@require_POST
@scoped_view
def webhook_test(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    endpoint = admin.endpoint_or_404(scope, endpoint_id)
    done = "Test event queued; its outcome is in the log below."
    return _queue_and_report(request, lambda: admin.send_test(scope, endpoint), endpoint.pk, done, "Test not sent.")


@require_POST
@scoped_view
def delivery_resend(request: HttpRequest, scope: Scope, delivery_id: int) -> HttpResponse:
    delivery = admin.delivery_or_404(scope, delivery_id)
    done = f"Delivery {delivery.pk} queued again as a new delivery (same event id)."
    return _queue_and_report(request, lambda: admin.resend(scope, delivery), delivery.endpoint_id, done, "Not resent.")
