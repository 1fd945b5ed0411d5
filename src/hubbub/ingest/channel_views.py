"""Settings → Channels (admins): every connected account with its health, connect a Mastodon or Bluesky
account or follow a feed, test a channel, disconnect one. The actions are `connectors.channel_admin`'s; this
page only parses and shows. The sign-in buttons (Mastodon, X, Facebook, Threads) are `channel_oauth_views`'.

It lives with ingest, beside the quarantine page, because it is the page of where events come from, and
because the connectors app sits below the web layer in the app tree (its services cannot use web's views).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from hubbub.connectors import channel_admin, polling
from hubbub.connectors.base import ChannelError, connector_for
from hubbub.connectors.email_watch_status import WatchState, WatchStatus, watch_statuses
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.ingest import channel_oauth_views
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.web.views.common import scoped_view


@dataclass
class ChannelRow:
    channel: Channel
    settings: dict[str, str]
    lag: str
    pollable: bool
    watch: WatchStatus | None = None  # email channels: watched live (IMAP IDLE) or polled
    watch_lost: str = ""  # a lost watch: how long ago its holder last renewed it


@scoped_view
def channels(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.ADMIN)
    now = timezone.now()
    listed = list(channel_admin.channels_for(scope))
    watches = watch_statuses(listed, now)
    rows = [
        ChannelRow(
            c,
            channel_admin.masked_credentials(c),
            _ago(c.lag_seconds(now)),
            bool(connector_for(c.network)),
            watches.get(c.pk),
            _lost_since(watches.get(c.pk), now),
        )
        for c in listed
    ]
    needing = [r.channel for r in rows if r.channel.is_active and r.channel.status == ChannelStatus.RECONNECT_NEEDED]
    return render(
        request,
        "ingest/channels.html",
        {
            "rows": rows,
            "needing_reconnect": needing,
            "brands": scope.brands(),
            "poll_seconds": polling.effective_poll_seconds(),
            "poll_every": _every(polling.effective_poll_seconds()),
            "email_idle": settings.EMAIL_IDLE,
            "poll_setting_below_tick": settings.CHANNEL_POLL_SECONDS < polling.TICK_SECONDS,
            "configured_poll_seconds": settings.CHANNEL_POLL_SECONDS,
            "sign_ins": channel_oauth_views.SIGN_INS,
        },
    )


# The connect form of each kind of channel: the form's fields, handed to its `channel_admin` action.
_CONNECT: dict[str, Callable[[Scope, int, QueryDict], tuple[Channel, str]]] = {
    "mastodon": lambda scope, brand_id, post: channel_admin.connect_mastodon(
        scope, brand_id, post.get("base_url", ""), post.get("access_token", "")
    ),
    "bluesky": lambda scope, brand_id, post: channel_admin.connect_bluesky(
        scope,
        brand_id,
        post.get("handle", ""),
        post.get("app_password", ""),
        post.get("service", ""),
        post.get("search", ""),
    ),
    "feed": lambda scope, brand_id, post: channel_admin.connect_feed(
        scope, brand_id, post.get("network", ""), post.get("url", ""), post.get("keywords", "")
    ),
    "email": lambda scope, brand_id, post: channel_admin.connect_email(scope, brand_id, post),
}


@require_POST
@scoped_view
def connect_channel(request: HttpRequest, scope: Scope, kind: str) -> HttpResponse:
    """Connect an account or follow a feed for the brand chosen in the form (tested before it is saved), then
    back to the list with what happened."""
    try:
        brand_id = int(request.POST.get("brand", ""))
    except ValueError:
        messages.error(request, "Choose the brand this account or feed speaks for.")
        return redirect("channels")
    try:
        channel, found = _CONNECT[kind](scope, brand_id, request.POST)
    except channel_admin.ChannelFormError as exc:
        messages.error(request, str(exc))
        return redirect("channels")
    messages.success(request, f"Connected {found} to {channel.brand.name}. New posts arrive within a minute.")
    return redirect("channels")


@require_POST
@scoped_view
def channel_action(request: HttpRequest, scope: Scope, channel_id: int, action: str) -> HttpResponse:
    """ "Test connection" (`check`) or `disconnect` one channel, then back to the list with what happened."""
    channel = _channel(scope, channel_id)
    if action == "disconnect":
        channel_admin.disconnect_channel(scope, channel)
        messages.success(request, f"{channel} disconnected: nothing is polled or posted through it; its messages stay.")
        return redirect("channels")
    try:
        found = channel_admin.check_channel(scope, channel)
    except ChannelError as exc:
        messages.error(request, f"{channel}: {exc.reason}")
    else:
        messages.success(request, f"{channel}: connection works ({found}).")
    return redirect("channels")


def _channel(scope: Scope, channel_id: int) -> Channel:
    require_role(scope, Role.ADMIN)
    try:
        return channel_admin.get_channel(scope, channel_id)
    except Channel.DoesNotExist as exc:
        raise Http404("No such channel.") from exc


def _lost_since(watch: WatchStatus | None, now: datetime) -> str:
    """ "last renewed 5 min ago" for a lost watch (or when its lease ran out, for a lease from before renewals
    were kept), so an admin sees how long live watching has been missing."""
    if watch is None or watch.state != WatchState.LOST:
        return ""
    if watch.renewed_at is not None:
        return f"last renewed {_ago((now - watch.renewed_at).total_seconds())} ago"
    ran_out = watch.lease_until or now  # a lost watch always has its lease's expiry
    return f"its lease ran out {_ago((now - ran_out).total_seconds())} ago"


def _every(seconds: int) -> str:
    if seconds == 60:
        return "every minute"
    if seconds % 60 == 0:
        return f"every {seconds // 60} minutes"
    return f"every {seconds} s"


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never polled"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
