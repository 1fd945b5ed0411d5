"""The unauthenticated endpoints for machines: `/healthz`, `/readyz`, `/metrics`.

`/healthz` is liveness: the process answers, nothing else is asked, so a database outage never gets
every web process restarted. `/readyz` is readiness (figures.py, readiness.py). `/metrics` is guarded
by a bearer token or an allow-list of addresses (`HUBBUB_METRICS_TOKEN`, `HUBBUB_METRICS_ALLOW`): the
series carry organisation ids and volumes, which are nobody else's business.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hubbub import metrics
from hubbub.client_ip import client_ip
from hubbub.ops.collector import DatabaseCollector
from hubbub.ops.readiness import readiness


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process id tells which of several web processes answered (a deploy check, the tests)."""
    return JsonResponse({"status": "ok", "pid": os.getpid()})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    ready, body = readiness(timezone.now())
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal:
        return HttpResponse(refusal, status=403, content_type="text/plain; charset=utf-8")
    registry = metrics.registry()
    body = generate_latest(registry) + generate_latest(DatabaseCollector.registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _refusal(request: HttpRequest) -> str:
    """Why this request may not read the metrics ("" when it may)."""
    token: str = settings.METRICS_TOKEN
    allowed: list[str] = settings.METRICS_ALLOW
    if not token and not allowed:
        return "Metrics are off: set HUBBUB_METRICS_TOKEN or HUBBUB_METRICS_ALLOW on the web processes.\n"
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return ""
    if allowed and _address_allowed(client_ip(request), allowed):
        return ""
    return "Send the metrics token as 'Authorization: Bearer …', or scrape from an allowed address.\n"


def _address_allowed(address: str | None, allowed: list[str]) -> bool:
    """A bad entry (a typo in the allow-list) allows nobody rather than being skipped unnoticed."""
    try:
        ip = ipaddress.ip_address(address or "")
        return any(ip in ipaddress.ip_network(entry, strict=False) for entry in allowed)
    except ValueError:
        return False
