"""Webhook intake, `/hooks/<network>/` (x, meta, facebook, instagram, threads): what is answered, and what is kept.

Two front doors share this module. Uvicorn's requests take `webhook_asgi` (a thin ASGI route in front of Django:
no sessions, CSRF, templates or UI middleware, and many deliveries committed in one transaction by a writer
thread); the Django view `webhook_views.hook` answers the rest (the test client, a WSGI server). Both make the
same decisions, here, and differ only in how they read the request and wait for the commit.

The request path does only what must happen before the 2xx: the size limit, the signature over the raw body,
one JSON read to name the accounts (`connectors.webhooks`), the channel of each account (cached a few seconds)
and the raw insert (committed before the answer; insert-or-ignore on `(organization, network, external id)`,
so a redelivery adds nothing). Analysis, threading and routing are the pipeline's job: the accepted ids are
queued for it in batches (`coalesce.processing`), and `sweep_pending` takes any whose task was lost.

Answers: 200 with counts; the subscription handshakes (X's CRC, Meta's hub.challenge); 413 for a body over
`WEBHOOK_MAX_BYTES`, before it is read; 401 for a missing or wrong signature (audited in the organisation of
the account it names, at most once a minute per account, and nothing kept); 404 naming an account id that has
no active channel (the events of the other accounts are kept); 200 for a signed body Hubbub cannot read, which
is quarantined with its reason when it names a known account, so the network stops sending it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hubbub.connectors import webhooks
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Channel
from hubbub.connectors.outbound import RECEIVED_BY
from hubbub.db import insert_ignore_returning
from hubbub.ingest import services
from hubbub.ingest.coalesce import processing
from hubbub.ingest.models import RawEvent
from hubbub.ingest.normalise import normalise
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


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A delivery refused before anything was read from it: answered `answer`, audited by the caller."""

    answer: Answer
    reason: str


@dataclass(slots=True)
class Pending:
    """A signed, readable delivery waiting for its commit."""

    network: str
    delivery: webhooks.Delivery


@dataclass(slots=True)
class _Plan:
    """One delivery's rows: the events to insert, and what its answer will count."""

    counts: dict[str, int]
    unknown: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


_channels: dict[tuple[str, str], tuple[float, Target | None]] = {}
_refusals_audited: dict[tuple[int, str], float] = {}


def json_answer(data: Any, status: int = 200) -> Answer:
    return Answer(status, orjson.dumps(data))


def error(status: int, reason: str) -> Answer:
    return json_answer({"error": reason}, status)


def too_big() -> Answer:
    return error(413, f"The delivery is over {settings.WEBHOOK_MAX_BYTES} bytes.")


def unknown_network(network: str) -> Answer | None:
    if network in webhooks.NETWORK_PATHS:
        return None
    return error(404, f"Hubbub takes no webhooks for {network!r}.")


def answer_get(network: str, params: Mapping[str, str]) -> Answer:
    """The subscription handshake: X's CRC (JSON) or Meta's challenge (plain text)."""
    try:
        _, answer = webhooks.handshake(network, params)
    except webhooks.Refused as exc:
        return error(exc.status, exc.reason)
    if isinstance(answer, dict):
        return json_answer(answer)
    return Answer(200, answer.encode(), "text/plain; charset=utf-8")


def front(network: str, body: bytes, headers: Mapping[str, str]) -> Answer | Refusal | Pending:
    """Everything before the database: the signature, then the JSON read. A signed body Hubbub cannot read
    is answered 200 (the network would only send it again), and logged."""
    try:
        webhooks.check_signature(network, body, headers)
    except webhooks.Refused as exc:
        return Refusal(error(exc.status, exc.reason), exc.reason)
    try:
        return Pending(network, webhooks.read_delivery(network, body))
    except ValueError as exc:
        log.warning("unreadable %s webhook delivery (%d bytes): %s", network, len(body), exc)
        return json_answer({"ignored": str(exc)})


def commit(jobs: list[Pending]) -> list[Answer]:
    """Keep the events of `jobs` in one transaction, then answer each; the accepted ids go to the pipeline
    after the commit. Raises when the transaction fails: then no job may be answered 2xx."""
    now = timezone.now()
    with transaction.atomic():
        plans = [_plan(job, now) for job in jobs]  # quarantines are written here, inside the transaction
        rows = [row for plan in plans for row in plan.rows]
        landed = insert_ignore_returning(RawEvent, rows, ("id", "organization_id", "network", "external_id"))
    new = {(org, net, ext): pk for pk, org, net, ext in landed}
    for plan in plans:
        for row in plan.rows:
            # a key sent twice within one batch landed once: the first delivery to claim it counts it
            if new.pop((row["organization_id"], row["network"], row["external_id"]), None) is not None:
                plan.counts["accepted"] += 1
            else:
                plan.counts["duplicates"] += 1
    if landed:
        processing.add([pk for pk, *_ in landed])
    return [_answer(job.network, plan) for job, plan in zip(jobs, plans, strict=True)]


def _plan(job: Pending, now: Any) -> _Plan:
    delivery = job.delivery
    plan = _Plan({"accepted": 0, "duplicates": 0, "quarantined": 0, "ignored": delivery.ignored})
    for item in delivery.items:
        target = channel_for(item.network, item.account_id)
        if target is None:
            if item.account_id not in plan.unknown:
                plan.unknown.append(item.account_id)
        elif item.problem:
            location = f"{item.network}:{item.account_id}"
            services.quarantine(
                target.organization_id, f"webhook:{job.network}", item.problem, _json(item.raw), location
            )
            plan.counts["quarantined"] += 1
        elif item.event is not None:
            plan.rows.append(_row(item.event, target, f"webhook:{job.network}", now))
    return plan


def _row(event: InboundEvent, target: Target, source: str, now: Any) -> dict[str, Any]:
    normalise(event)
    event.brand_slug = event.brand_slug or target.brand_slug
    event.extra[RECEIVED_BY] = target.channel_id
    return {
        "organization_id": target.organization_id,
        "network": event.network,
        "external_id": event.external_id,
        "source": source,
        "payload": event.to_payload(),
        "state": RawEvent.State.PENDING,
        "received_at": now,
        "processed_at": None,
        "attempts": 0,
    }


def _answer(network: str, plan: _Plan) -> Answer:
    if plan.unknown:
        ids = ", ".join(plan.unknown)
        return json_answer({"error": f"No active channel for account id {ids} on {network}.", **plan.counts}, 404)
    return json_answer(plan.counts)


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


def audit_refusal(network: str, body: bytes, reason: str, address: str) -> None:
    """Audit a refused delivery in the organisation of each known account it names (the body is unsigned, so
    only its ids are read, and a flood naming one account writes one entry a minute); otherwise log it."""
    accounts: set[tuple[str, str]] = set()
    try:
        for item in webhooks.read_delivery(network, body).items:
            accounts.add((item.network, item.account_id))
    except (ValueError, webhooks.Refused):
        pass
    now = time.monotonic()
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
