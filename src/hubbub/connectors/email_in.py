"""Reading a brand's mailbox over IMAP: new mail since the cursor becomes events; bad mail is quarantined.

The cursor is `{"uidvalidity", "uid", "since"}`: IMAP UIDs only grow within one UIDVALIDITY, so "UIDs above
the last one seen" is exactly the new mail. When the server renumbers the mailbox (UIDVALIDITY changes: a
restore, a migration) the old UIDs mean nothing; the poll then reads again everything that arrived since a day
before the last mail it saw (`since`), and ingest drops what it already has (idempotent on the Message-ID).

A poll reads at most `MAX_PER_POLL` mails, oldest first, and the cursor ends after the last one read, so a
first poll of a full mailbox, or a backlog, is worked through over several polls instead of one long one.
Mail too large or unreadable is quarantined with its reason (Settings → Quarantine) and the cursor moves past
it: one bad mail never holds back the next. The polling loop saves the cursor only after the events are
committed; a crash in between reads the same mails again (stored once, a quarantine entry may repeat).

`email_idle` adds IMAP IDLE (run by the worker's `email_watchers`): mail within seconds instead of at the next poll.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient

from hubbub.connectors.base import PollResult
from hubbub.connectors.email_imap import MailSettings, imap_session
from hubbub.connectors.email_parse import NETWORK, Mailbox, MalformedMail, parse_mail
from hubbub.connectors.events import InboundEvent
from hubbub.importreport import Reject, quarantine

if TYPE_CHECKING:
    from hubbub.connectors.models import Channel

MAX_PER_POLL = 200
FETCH_CHUNK = 25  # mails fetched per command: bounded memory, and progress on a slow server
MAX_MAIL_BYTES = 10 * 1024 * 1024  # larger mail is almost always attachments: quarantined, never downloaded
RESCAN_MARGIN = timedelta(days=1)  # IMAP SINCE has a day's resolution and ignores time zones


def mailbox_of(channel: Channel, settings: MailSettings) -> Mailbox:
    own = {settings.address, settings.username.lower()} - {""}
    return Mailbox(brand_slug=channel.brand.slug, own_addresses=frozenset(own))


def check(channel: Channel) -> str:
    """Log in and open the folder: "support@acme.test (INBOX, 12 messages)", or a ChannelError saying why."""
    settings = MailSettings.from_credentials(channel.credentials)
    with imap_session(settings) as client:
        info = client.select_folder(settings.folder, readonly=True)
        return f"{settings.address} ({settings.folder}, {int(info.get(b'EXISTS', 0))} messages)"


def poll(channel: Channel, cursor: dict[str, Any]) -> PollResult:
    """The mail that arrived since `cursor`, as events; the cursor to save once they are stored."""
    settings = MailSettings.from_credentials(channel.credentials)
    mailbox = mailbox_of(channel, settings)
    with imap_session(settings) as client:
        info = client.select_folder(settings.folder, readonly=True)
        validity = int(info[b"UIDVALIDITY"])
        uids = _new_uids(client, cursor, validity, settings.backfill_days)
        batch = uids[:MAX_PER_POLL]
        events, rejects, newest = _read(client, batch, mailbox, channel)
    if rejects:
        quarantine(rejects)
    if len(batch) < len(uids):
        last_uid = batch[-1]  # a backlog: the next poll goes on from here
    else:  # everything below UIDNEXT (at SELECT) is read or gone, so IDLE's check sees nothing new
        last_uid = max([*batch, int(info.get(b"UIDNEXT", 1)) - 1])
    days = [newest] if newest else []
    if cursor.get("since"):
        days.append(date.fromisoformat(cursor["since"]))
    new_cursor: dict[str, Any] = {"uidvalidity": validity, "uid": last_uid}
    if days:
        new_cursor["since"] = max(days).isoformat()
    return PollResult(events=events, cursor=new_cursor, backlog=len(batch) < len(uids))


def _new_uids(client: IMAPClient, cursor: dict[str, Any], validity: int, backfill_days: int) -> list[int]:
    """UIDs to read, ascending. Same UIDVALIDITY: above the cursor. After a renumbering: everything since
    shortly before the last mail seen. A first poll: the last `backfill_days` only, so connecting a mailbox
    with years of mail does not open (and start SLA clocks on) thousands of old conversations."""
    if cursor.get("uidvalidity") == validity:
        last = int(cursor.get("uid", 0))
        # "UID n:*" always matches the newest mail, even when its UID is below n: filtered here.
        return sorted(uid for uid in map(int, client.search(["UID", f"{last + 1}:*"])) if uid > last)
    if cursor.get("since"):
        since = date.fromisoformat(cursor["since"]) - RESCAN_MARGIN
    else:
        since = datetime.now(UTC).date() - timedelta(days=backfill_days)
    return sorted(map(int, client.search(["SINCE", since])))


def _read(
    client: IMAPClient, uids: list[int], mailbox: Mailbox, channel: Channel
) -> tuple[list[InboundEvent], list[Reject], date | None]:
    """Fetch and parse `uids`: events for the good mails, quarantine entries for the rest, and the arrival day
    of the newest mail (the re-scan point after a renumbering)."""
    events: list[InboundEvent] = []
    rejects: list[Reject] = []
    newest: date | None = None
    for start in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[start : start + FETCH_CHUNK]
        sizes = client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"])
        small = [uid for uid in chunk if int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) <= MAX_MAIL_BYTES]
        bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        for uid in chunk:
            arrived = _arrival(sizes.get(uid, {}))
            newest = max(newest, arrived.date()) if newest else arrived.date()
            where = f"{channel.name} {uid}"
            raw = bodies.get(uid, {}).get(b"BODY[]")
            if uid not in small:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                rejects.append(_reject(channel, where, f"Mail too large to read ({size:,} bytes).", b""))
            elif not isinstance(raw, bytes):
                rejects.append(_reject(channel, where, "The server returned no content for this mail.", b""))
            else:
                try:
                    events.append(parse_mail(raw, mailbox, arrived))
                except MalformedMail as exc:
                    rejects.append(_reject(channel, where, exc.reason, raw))
    return events, rejects, newest


def _arrival(fetched: dict[bytes, Any]) -> datetime:
    when = fetched.get(b"INTERNALDATE")
    if not isinstance(when, datetime):
        return datetime.now(UTC)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _reject(channel: Channel, where: str, reason: str, raw: bytes) -> Reject:
    return Reject(
        organization_id=channel.organization_id,
        source=f"{NETWORK}:{channel.name}",
        location=where[:200],
        reason=reason[:500],
        raw=raw[:20000].decode("utf-8", errors="replace"),
    )
