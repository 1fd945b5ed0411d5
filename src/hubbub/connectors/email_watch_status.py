"""Whether an email channel is watched live (IMAP IDLE) or only polled, as Settings → Channels tells an admin.

The worker's lease (`ChannelWatch`, written by `email_watchers`) is the only witness: the web process cannot see
the workers' threads, and its own `EMAIL_IDLE` setting says nothing about theirs, so a lease wins over the
setting. `status_of` is the pure reading of one lease; `watch_statuses` reads the leases of the channels a page
shows in one query. Imports no mail library: the page runs in the web process.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hubbub.connectors.models import Channel, ChannelStatus, ChannelWatch, Network, WatchRest


class WatchState(StrEnum):
    LIVE = "live"  # a fresh lease whose holder's watcher runs
    RESTING = "resting"  # a fresh lease, but the holder does not watch (`reason` says why): polled
    LOST = "lost"  # the lease ran out: its holder died or froze; polled until another process takes over
    POLLED = "polled"  # no lease: IDLE off, no worker with room, or not yet looked at


@dataclass(frozen=True, slots=True)
class WatchStatus:
    state: WatchState
    holder: str = ""  # the worker, as "host/pid"
    since: datetime | None = None  # LIVE: when its watcher started (None: a lease written before it was kept)
    renewed_at: datetime | None = None  # LOST: the holder's last renewal (None: a lease written before it was kept)
    lease_until: datetime | None = None
    reason: str = ""  # RESTING: why, for "Polled every minute: <reason>"


def holder_name(owner: str) -> str:
    """The lease owner without its random part (`email_watchers.process_owner`): host/pid is what an operator
    looks for; the random part only keeps a reused pid from inheriting a lease."""
    parts = owner.rsplit("/", 2)
    return "/".join(parts[:2]) if len(parts) == 3 else owner


def status_of(lease: ChannelWatch | None, now: datetime) -> WatchStatus:
    """What one channel's lease says at `now`."""
    if lease is None:
        return WatchStatus(WatchState.POLLED)
    holder = holder_name(lease.owner)
    if lease.lease_until <= now:
        return WatchStatus(WatchState.LOST, holder, renewed_at=lease.renewed_at, lease_until=lease.lease_until)
    if lease.watching_since is None and lease.rest_reason:
        return WatchStatus(WatchState.RESTING, holder, reason=WatchRest(lease.rest_reason).label)
    return WatchStatus(WatchState.LIVE, holder, since=lease.watching_since, lease_until=lease.lease_until)


def watch_statuses(channels: Iterable[Channel], now: datetime) -> dict[int, WatchStatus]:
    """The status of each watchable email channel among `channels` (the caller's, already scoped to the
    user's organisation), by channel id; the leases in one query. A disconnected channel, or one waiting to be
    reconnected, is neither watched nor polled: it has none."""
    ids = [
        c.pk
        for c in channels
        if c.network == Network.EMAIL and c.is_active and c.status != ChannelStatus.RECONNECT_NEEDED
    ]
    if not ids:
        return {}
    leases = {w.channel_id: w for w in ChannelWatch.objects.filter(channel_id__in=ids)}
    return {pk: status_of(leases.get(pk), now) for pk in ids}
