"""Keeping a connected account's access token alive: what X's renewal (`x_oauth`) and Threads' (`meta_oauth`)
share. The network module says when a token is due and how to renew it; this module makes the renewal safe.

- **One at a time per channel.** A network may spend the old token (X rotates its refresh token), so two
  workers renewing at once could lose the channel: a lock in this process, the channel's row locked in the
  database (`SELECT … FOR UPDATE`), and a worker that finds the token already renewed uses that one.
- **Saved before use.** The new credentials are saved (encrypted, as every channel credential) before the
  request that needed them goes out, so a crash after the renewal does not leave the spent token behind.
- **A refusal is the admins' business.** A refused renewal (a 4xx: revoked, expired, spent) marks the channel
  "reconnect needed", audited, which puts it in front of the brand's admins (the navigation's warning,
  Settings → Channels) and stops polling; the network being unreachable is only a failed poll or a transient
  send failure, tried again later.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

from hubbub.connectors.base import ChannelError
from hubbub.connectors.channel_admin import ChannelFormError
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.oauth_flow import TokenRequestError
from hubbub.tenancy.services import audit

log = logging.getLogger("hubbub.connectors.token_renewal")

Credentials = dict[str, Any]
_renewing: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)


def fresh_credentials(
    channel: Channel, name: str, due: Callable[[Credentials], bool], renew: Callable[[Credentials], Credentials]
) -> Credentials:
    """The channel's credentials with an access token that outlives the next request, renewed by `renew` when
    `due` says so (`renew`'s answer is merged over them). ChannelError when it cannot be: `reconnect_needed`
    when `name` (the network) refused the renewal, and then the channel is marked."""
    credentials = channel.credentials
    if not due(credentials) or channel.pk is None:
        return credentials
    with _renewing[channel.pk], transaction.atomic():
        row = Channel.objects.select_for_update().filter(pk=channel.pk).first()
        current = row.credentials if row is not None else {}
        if not due(current):  # another poll or send renewed it meanwhile
            channel.credentials = current
            return current
        try:
            renewed = {**current, **renew(current)}
        except ChannelFormError as exc:  # a TokenRequestError, or an answer without a token
            refusal = exc
        else:
            channel.credentials = renewed
            Channel.objects.filter(pk=channel.pk).update(credentials_encrypted=channel.credentials_encrypted)
            log.info("channel %s: %s access token renewed", channel.pk, name)
            return renewed
    if not (isinstance(refusal, TokenRequestError) and refusal.refused):
        raise ChannelError(f"Could not renew the {name} access token: {refusal}")
    reason = f"{refusal.reason} The access token could not be renewed: connect the account again."
    mark_reconnect_needed(channel, reason)
    raise ChannelError(reason, reconnect_needed=True)


def mark_reconnect_needed(channel: Channel, reason: str) -> None:
    """As a refused poll does (`polling`): the status the admins are warned of, and an audit entry, once."""
    if channel.status == ChannelStatus.RECONNECT_NEEDED:
        return
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.RECONNECT_NEEDED, last_error=reason[:2000])
    channel.status = ChannelStatus.RECONNECT_NEEDED
    channel.last_error = reason[:2000]
    audit(channel.organization_id, None, "channel.reconnect_needed", channel, reason=reason)
