"""Webhook intake: `/hooks/<network>/` (x, meta, facebook, instagram, threads).

The request path does only what must happen before the 2xx: the size limit, the signature over the raw body,
one JSON read to name the accounts (`connectors.webhooks`), the channel of each account (cached a few seconds)
and the raw insert (`services.accept`, committed before the answer). Analysis, threading and routing are the
pipeline's job: the accepted ids are queued for it in batches (`coalesce.processing`: one task a fraction of a
second, not one per delivery), and `sweep_pending` takes any whose task was lost.

Answers: 200 with counts; the subscription handshakes (X's CRC, Meta's hub.challenge); 413 for a body over
`WEBHOOK_MAX_BYTES`, before it is read; 401 for a missing or wrong signature (audited in the organisation of
the account it names, at most once a minute per account, and nothing kept); 404 naming an account id that has
no active channel (the events of the other accounts are kept); 200 for a signed body Hubbub cannot read, which
is quarantined with its reason when it names a known account, so the network stops sending it again.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hubbub.connectors import webhooks
from hubbub.connectors.models import Channel
from hubbub.connectors.outbound import RECEIVED_BY
from hubbub.connectors.webhook_items import Item
from hubbub.ingest import services
from hubbub.ingest.coalesce import processing
from hubbub.tenancy.services import audit

log = logging.getLogger("hubbub.ingest.webhooks")

CHANNEL_CACHE_SECONDS = 5.0
REFUSAL_AUDIT_SECONDS = 60.0
_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Target:
    channel_id: int
    organization_id: int
    brand_slug: str


_channels: dict[tuple[str, str], tuple[float, Target | None]] = {}
_refusals_audited: dict[tuple[int, str], float] = {}


def channel_for(network: str, account_id: str) -> Target | None:
    """The active channel of `account_id` on `network`, cached for a few seconds (a miss too, so a flood
    naming an unknown account costs no query each); a disconnected channel stops receiving within that time."""
    now = time.monotonic()
    hit = _channels.get((network, account_id))
    if hit is not None and hit[0] > now:
        return hit[1]
    row = (
        Channel.objects.filter(network=network, account_id=account_id, is_active=True)
        .order_by("id")
        .values_list("id", "organization_id", "brand__slug")
        .first()
    )
    if len(_channels) >= _CACHE_MAX:
        _channels.clear()
    target = Target(*row) if row else None
    _channels[(network, account_id)] = (now + CHANNEL_CACHE_SECONDS, target)
    return target


def forget_channels() -> None:
    """Drop the cache (tests, and after a channel is connected or disconnected in this process)."""
    _channels.clear()
    _refusals_audited.clear()


@csrf_exempt
def hook(request: HttpRequest, network: str) -> HttpResponse:
    if network not in webhooks.NETWORK_PATHS:
        return JsonResponse({"error": f"Hubbub takes no webhooks for {network!r}."}, status=404)
    try:
        if request.method == "GET":
            _, answer = webhooks.handshake(network, request.GET)
            if isinstance(answer, dict):
                return JsonResponse(answer)
            return HttpResponse(answer, content_type="text/plain")
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        body = _body(request)
        try:
            webhooks.check_signature(network, body, request.headers)
        except webhooks.Refused as exc:
            _audit_refusal(network, body, exc.reason, request)
            raise
        return _intake(network, body)
    except webhooks.Refused as exc:
        return JsonResponse({"error": exc.reason}, status=exc.status)


def _body(request: HttpRequest) -> bytes:
    """The raw body, refused (413) when it is over the limit: by its Content-Length before reading, and by what
    was read when it has none."""
    limit = settings.WEBHOOK_MAX_BYTES
    too_big = webhooks.Refused(413, f"The delivery is over {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_big
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body


def _intake(network: str, body: bytes) -> HttpResponse:
    try:
        delivery = webhooks.read_delivery(network, body)
    except ValueError as exc:
        log.warning("unreadable %s webhook delivery (%d bytes): %s", network, len(body), exc)
        return JsonResponse({"ignored": str(exc)})
    by_target: dict[Target, list[Item]] = defaultdict(list)
    unknown: list[str] = []
    for item in delivery.items:
        target = channel_for(item.network, item.account_id)
        if target is None:
            if item.account_id not in unknown:
                unknown.append(item.account_id)
        else:
            by_target[target].append(item)
    counts = {"accepted": 0, "duplicates": 0, "quarantined": 0, "ignored": delivery.ignored}
    for target, items in by_target.items():
        _store(network, target, items, counts)
    if unknown:
        ids = ", ".join(unknown)
        return JsonResponse({"error": f"No active channel for account id {ids} on {network}.", **counts}, status=404)
    return JsonResponse(counts)


def _store(network: str, target: Target, items: list[Item], counts: dict[str, int]) -> None:
    events = []
    for item in items:
        if item.problem:
            location = f"{item.network}:{item.account_id}"
            services.quarantine(target.organization_id, f"webhook:{network}", item.problem, _json(item.raw), location)
            counts["quarantined"] += 1
        elif item.event is not None:
            event = item.event
            event.brand_slug = event.brand_slug or target.brand_slug
            event.extra[RECEIVED_BY] = target.channel_id
            events.append(event)
    if not events:
        return
    result = services.accept(target.organization_id, events, source=f"webhook:{network}")
    counts["accepted"] += result.accepted
    counts["duplicates"] += result.duplicates
    if result.raw_ids:
        processing.add(result.raw_ids)


def _audit_refusal(network: str, body: bytes, reason: str, request: HttpRequest) -> None:
    """Audit a refused delivery in the organisation of each known account it names (the body is unsigned, so
    only its ids are read, and a flood naming one account writes one entry a minute); otherwise log it."""
    accounts: set[tuple[str, str]] = set()
    try:
        for item in webhooks.read_delivery(network, body).items:
            accounts.add((item.network, item.account_id))
    except (ValueError, webhooks.Refused):
        pass
    now = time.monotonic()
    address = request.META.get("REMOTE_ADDR", "")
    for net, account in sorted(accounts):
        target = channel_for(net, account)
        if target is None:
            continue
        key = (target.channel_id, reason)
        if _refusals_audited.get(key, 0.0) > now:
            continue
        _refusals_audited[key] = now + REFUSAL_AUDIT_SECONDS
        channel = Channel.objects.filter(pk=target.channel_id).first()
        audit(target.organization_id, None, "webhook.refused", channel, reason=reason, address=address)
    log.warning("refused %s webhook from %s: %s (accounts %s)", network, address, reason, sorted(accounts))


def _json(raw: Any) -> str:
    try:
        return orjson.dumps(raw).decode()
    except TypeError:
        return repr(raw)
