"""The polling loop: ask each due channel's connector what is new, hand the events on, then move the cursor.

Why in this order: the cursor is saved only after `accept` has committed the events, so a worker that dies
between the two polls the same page again after a restart, and ingest's idempotency on `(network,
external_id)` drops the overlap. A mention is never skipped, and never stored twice.

Ingest sits above the connectors in the app tree, so the function that commits the events (`AcceptEvents`)
is handed in by the caller (`ingest.channel_intake`, the CLI); this module never imports it.

Health follows each poll: connected after a success; degraded after a failure or while waiting out a rate
limit; failing after `FAILING_AFTER` failures in a row; reconnect needed when the network refused the
credentials, which stops polling until an admin connects the account again (the admins see it on
Settings → Channels and in the navigation). Failures back off exponentially with jitter, so many channels
failing at once do not retry in step, and never sooner than the network's own `retry_after`. A 429 records a
budget of 0 and the reset time, shown on Settings → Channels.

Why concurrent: a poll is mostly waiting for a distant network, so one worker polling a thousand sources one at
a time spends the minute waiting (`benchmarks/channels.py`). `poll_due` hands the network part (`fetch`) of the
leased channels to a bounded thread pool (`CHANNEL_POLL_CONCURRENCY`), at most `CHANNEL_POLL_PER_HOST` at once
to one host, so a shared instance or PDS is not hammered. The writes that must follow the order above (accept,
then cursor and health: `record`) stay on the calling thread, one channel after another as their fetches end:
SQLite serialises writers anyway, and a cursor is never saved before its own channel's events. A connector that
writes during its fetch (Bluesky keeps a refreshed session, email quarantines an unreadable mail) does so on
the pool thread's own connection, closed when the fetch ends.

A poll that stops at its page limit says so (`PollResult.backlog`); the loop polls that channel again at once,
up to `BACKLOG_ROUNDS` times in one run, instead of letting the rest wait for the next tick.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils import timezone

from hubbub.connectors.base import ChannelError, PollResult, connector_for, registered_networks
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.outbound import RECEIVED_BY
from hubbub.tenancy.services import audit

log = logging.getLogger("hubbub.connectors.polling")

AcceptEvents = Callable[[Channel, Sequence[InboundEvent]], int]  # commits the events; returns how many were new
FAILING_AFTER = 3
MAX_BACKOFF_SECONDS = 3600.0
# While one worker polls a channel its next poll is pushed this far ahead, so a second worker skips it.
LEASE_SECONDS = 300
# The periodic task runs once a minute (Huey's scheduler has a minute's resolution), so a channel is polled at
# most that often whatever CHANNEL_POLL_SECONDS says; only a backlog is read again sooner (below).
TICK_SECONDS = 60
# A backlog is polled again at once within one run, at most this many extra times (the rest waits a tick).
BACKLOG_ROUNDS = 5
# Where a channel's host is found in its credentials, for the per-host limit.
_HOST_KEYS = ("base_url", "service", "url", "imap_host")


@dataclass(slots=True)
class PollOutcome:
    channel_id: int
    ok: bool
    events: int = 0
    new: int = 0
    error: str = ""
    backlog: bool = False


@dataclass(slots=True)
class Fetched:
    """What one channel's network answered (`fetch`), waiting to be recorded (`record`)."""

    channel: Channel
    result: PollResult | None = None
    error: ChannelError | None = None


def due_channels(now: datetime) -> QuerySet[Channel]:
    """Active channels of a network that has a connector, whose next poll has come, and whose credentials
    work (a channel that needs reconnecting waits for an admin)."""
    return (
        Channel.objects.filter(is_active=True, network__in=registered_networks())
        .exclude(status=ChannelStatus.RECONNECT_NEEDED)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .select_related("brand")
        .order_by("next_poll_at", "id")
    )


def poll_due(accept: AcceptEvents, now: datetime | None = None, concurrency: int | None = None) -> list[PollOutcome]:
    """Poll every due channel once (the periodic task), then again at once those that left a backlog. One
    channel's failure never stops the others."""
    now = now or timezone.now()
    workers = concurrency or settings.CHANNEL_POLL_CONCURRENCY
    outcomes = _poll_leased([c for c in due_channels(now) if _lease(c, now)], accept, now, workers)
    backlog = [o.channel_id for o in outcomes if o.backlog]
    for _ in range(BACKLOG_ROUNDS):
        if not backlog:
            break
        now = timezone.now()
        leased = [c for c in due_channels(now).filter(pk__in=backlog) if _lease(c, now)]
        again = _poll_leased(leased, accept, now, workers)
        outcomes.extend(again)
        backlog = [o.channel_id for o in again if o.backlog]
    return outcomes


def poll_channel(channel: Channel, accept: AcceptEvents, now: datetime | None = None) -> PollOutcome:
    """Poll one channel now, whatever its schedule (the CLI's `channels poll`, the loop): fetch, accept,
    then save the cursor and the health."""
    return record(fetch(channel), accept, now or timezone.now())


def fetch(channel: Channel) -> Fetched:
    """Ask the channel's connector what is new since its cursor. Never raises: a failure is in `error`."""
    connector = connector_for(channel.network)
    if connector is None:
        return Fetched(channel, error=ChannelError(f"Hubbub has no connector for {channel.network} yet."))
    try:
        return Fetched(channel, result=connector.poll(channel, dict(channel.cursor)))
    except ChannelError as exc:
        return Fetched(channel, error=exc)
    except Exception as exc:  # a bug or an unforeseen answer: shown and retried like any failure, and logged
        log.exception("polling channel %s failed", channel.pk)
        return Fetched(channel, error=ChannelError(f"Unexpected error while polling: {type(exc).__name__}"))


def record(fetched: Fetched, accept: AcceptEvents, now: datetime) -> PollOutcome:
    """Hand a fetch's events to `accept`, and only after that commit save the cursor and the health."""
    channel, result = fetched.channel, fetched.result
    if result is None:
        return _failed(channel, now, fetched.error or ChannelError("The poll returned nothing."))
    events = [_stamped(ev, channel) for ev in result.events]
    try:
        new = accept(channel, events) if events else 0
    except Exception as exc:  # the events were not committed: the cursor stays, the next poll fetches them again
        log.exception("accepting %s events of channel %s failed", len(events), channel.pk)
        return _failed(channel, now, ChannelError(f"Could not store the new messages: {type(exc).__name__}"))
    _succeeded(channel, now, result)
    return PollOutcome(channel.pk, ok=True, events=len(events), new=new, backlog=_drains_now(result))


def _poll_leased(channels: list[Channel], accept: AcceptEvents, now: datetime, workers: int) -> list[PollOutcome]:
    """Fetch the leased channels on a pool of `workers` threads and record each on this thread as it ends."""
    if workers <= 1 or len(channels) <= 1:
        return [poll_channel(c, accept, now) for c in channels]
    per_host = max(1, settings.CHANNEL_POLL_PER_HOST)
    queue = list(_interleaved_by_host(channels))
    limits = {host: threading.BoundedSemaphore(per_host) for host, _channel in queue}
    outcomes = []
    with ThreadPoolExecutor(max_workers=min(workers, len(channels)), thread_name_prefix="hubbub-poll") as pool:
        futures = [pool.submit(_fetch_politely, channel, limits[host]) for host, channel in queue]
        for future in as_completed(futures):
            outcomes.append(record(future.result(), accept, now))
    return outcomes


def _fetch_politely(channel: Channel, limit: threading.BoundedSemaphore) -> Fetched:
    """`fetch` on a pool thread, within its host's limit; the thread's database connections (a connector that
    wrote) are closed after, since Django's connections belong to the thread that opened them."""
    try:
        with limit:
            return fetch(channel)
    finally:
        connections.close_all()


def _interleaved_by_host(channels: list[Channel]) -> Iterator[tuple[str, Channel]]:
    """The channels one host after another in turn, so the pool's threads do not all queue on one host's limit
    while other hosts' channels wait behind them."""
    by_host: dict[str, list[tuple[str, Channel]]] = defaultdict(list)
    for channel in channels:
        host = host_of(channel)
        by_host[host].append((host, channel))
    for row in itertools.zip_longest(*by_host.values()):
        yield from (pair for pair in row if pair is not None)


def host_of(channel: Channel) -> str:
    """The host a channel's polls go to (its instance, PDS, feed or mail server), else its network's name (one
    API host per network, like X's)."""
    credentials = channel.credentials
    for key in _HOST_KEYS:
        value = str(credentials.get(key) or "").strip()
        if value:
            try:
                return (httpx.URL(value).host if "://" in value else value).lower() or channel.network
            except httpx.InvalidURL:
                return channel.network
    return str(channel.network)


def _drains_now(result: PollResult) -> bool:
    """A backlog is polled again at once, unless the rate limit is spent (then it waits for the reset)."""
    return result.backlog and result.rate_limit_remaining != 0


def _lease(channel: Channel, now: datetime) -> bool:
    """Take the channel for this worker (one conditional UPDATE), so two workers never poll it at once."""
    scheduled = channel.next_poll_at
    same_schedule = Q(next_poll_at__isnull=True) if scheduled is None else Q(next_poll_at=scheduled)
    lease_until = now + timedelta(seconds=LEASE_SECONDS)
    taken = Channel.objects.filter(same_schedule, id=channel.pk).update(next_poll_at=lease_until)
    if taken:
        channel.next_poll_at = lease_until
    return bool(taken)


def _stamped(event: InboundEvent, channel: Channel) -> InboundEvent:
    """A channel belongs to one brand: its events are that brand's unless the connector said otherwise. Each
    remembers the channel it came through, so a reply to it goes out through the same account."""
    if not event.brand_slug:
        event.brand_slug = channel.brand.slug
    event.extra = {**event.extra, RECEIVED_BY: channel.pk}
    return event


def _succeeded(channel: Channel, now: datetime, result: PollResult) -> None:
    channel.cursor = result.cursor
    channel.last_polled_at = channel.last_success_at = now
    if result.events:
        channel.last_event_at = max(ev.created_at for ev in result.events)
    channel.last_error = ""
    channel.consecutive_failures = 0
    channel.rate_limit_remaining = result.rate_limit_remaining
    channel.rate_limit_reset_at = result.rate_limit_reset_at
    next_poll = now + timedelta(seconds=settings.CHANNEL_POLL_SECONDS)
    waiting_for_budget = result.rate_limit_remaining == 0 and result.rate_limit_reset_at is not None
    if waiting_for_budget and result.rate_limit_reset_at is not None and result.rate_limit_reset_at > next_poll:
        next_poll = result.rate_limit_reset_at
    elif _drains_now(result):
        next_poll = now  # the rest of a backlog: `poll_due` takes it again at once, or the next tick does
    channel.status = ChannelStatus.DEGRADED if waiting_for_budget else ChannelStatus.CONNECTED
    channel.next_poll_at = next_poll
    channel.save(update_fields=[*_HEALTH_FIELDS, "cursor", "last_success_at", "last_event_at"])


def _failed(channel: Channel, now: datetime, exc: ChannelError) -> PollOutcome:
    was_reconnect_needed = channel.status == ChannelStatus.RECONNECT_NEEDED
    channel.last_polled_at = now
    channel.last_error = exc.reason[:2000]
    channel.consecutive_failures += 1
    delay = backoff_seconds(channel.consecutive_failures, exc.retry_after)
    channel.next_poll_at = now + timedelta(seconds=delay)
    if exc.rate_limited:  # shown on Settings → Channels: no budget left, and when it comes back
        channel.rate_limit_remaining = 0
        channel.rate_limit_reset_at = now + timedelta(seconds=exc.retry_after or delay)
    if exc.reconnect_needed:
        channel.status = ChannelStatus.RECONNECT_NEEDED
    elif channel.consecutive_failures >= FAILING_AFTER:
        channel.status = ChannelStatus.FAILING
    else:
        channel.status = ChannelStatus.DEGRADED
    channel.save(update_fields=_HEALTH_FIELDS)
    if exc.reconnect_needed and not was_reconnect_needed:
        audit(channel.organization_id, None, "channel.reconnect_needed", channel, reason=channel.last_error)
    log.warning("channel %s: %s (next poll in %.0f s)", channel.pk, exc.reason, delay)
    return PollOutcome(channel.pk, ok=False, error=exc.reason)


def effective_poll_seconds() -> int:
    """How often a healthy channel is really polled: the setting, but never more often than the tick."""
    return max(int(settings.CHANNEL_POLL_SECONDS), TICK_SECONDS)


def backoff_seconds(failures: int, retry_after: float | None = None) -> float:
    """The wait before the next poll after `failures` failures in a row: the poll interval doubled per
    failure, with ±20 % jitter, at most an hour, and never less than what the network asked for."""
    base = float(settings.CHANNEL_POLL_SECONDS) * 2 ** max(0, failures - 1) * random.uniform(0.8, 1.2)
    return max(min(base, MAX_BACKOFF_SECONDS), retry_after or 0.0)


_HEALTH_FIELDS = [
    "last_polled_at",
    "last_error",
    "consecutive_failures",
    "next_poll_at",
    "status",
    "rate_limit_remaining",
    "rate_limit_reset_at",
]
