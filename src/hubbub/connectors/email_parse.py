"""Email → `InboundEvent`: the pure core of the email connector (no IMAP, no Django).

Why it is careful: a mailbox holds whatever anyone sent. Every message must become either an event or a
`MalformedMail` with a reason the admins can read in the quarantine; nothing here may raise anything else on
odd input (unknown charsets, broken MIME, missing headers), or one bad mail would stall the mailbox.

Threading follows the headers mail clients write: the event's `external_id` is the Message-ID and its
`in_reply_to` the In-Reply-To (else the last References entry), both normalised by `normalise_id` so a reply
finds its parent in `inbox.threading`. The brand's replies carry the Message-ID Hubbub gave them
(`email_out`), so a customer's answer to a reply joins the same conversation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from hubbub.connectors.events import InboundEvent
from hubbub.connectors.html_text import html_to_text

NETWORK = "email"
MAX_ID_LENGTH = 190  # Message.external_id holds 200 characters; longer ids are replaced by their hash
MAX_TEXT_CHARS = 20_000  # a pasted log or a newsletter: the agent needs the start, not megabytes
MAX_REFERENCES = 20  # References kept in `extra` (the newest ones: a long thread's header grows without end)
FUTURE_SLACK = timedelta(days=1)  # a Date header further ahead than this is a wrong clock: the server's time wins


class MalformedMail(ValueError):
    """A message that cannot become an event; `reason` goes to the quarantine as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Mailbox:
    """Where the mail was read: the brand it belongs to and the addresses that are the brand's own."""

    brand_slug: str
    own_addresses: frozenset[str]


def normalise_id(value: str | None) -> str:
    """One spelling of a Message-ID for matching: the first `<…>` token without brackets (or the bare value),
    hashed when too long for the message table."""
    if not value:
        return ""
    match = re.search(r"<([^<>\s]+)>", str(value))
    words = str(value).strip("<> \t\r\n").split()
    ident = match.group(1) if match else (words[0] if words else "")
    if len(ident) > MAX_ID_LENGTH:
        ident = "sha256:" + hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()
    return ident


def id_list(value: str | None) -> list[str]:
    """Every Message-ID named in a References / In-Reply-To header, in order."""
    if not value:
        return []
    found = re.findall(r"<[^<>\s]+>", str(value))
    return [normalise_id(item) for item in found] or [normalise_id(value)]


def parse_mail(raw: bytes, mailbox: Mailbox, received_at: datetime | None = None) -> InboundEvent:
    """One raw message (RFC 5322 bytes) as an event of the mailbox's brand, or `MalformedMail`."""
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        return _event(msg, raw, mailbox, received_at)
    except MalformedMail:
        raise
    except Exception as exc:  # the stdlib parser on hostile input: a reason for the quarantine, never a stall
        raise MalformedMail(f"Could not read the message: {type(exc).__name__}: {exc}") from exc


def _event(msg: Message, raw: bytes, mailbox: Mailbox, received_at: datetime | None) -> InboundEvent:
    name, address = _sender(msg)
    subject = _header(msg, "Subject")
    body, html_only = body_text(msg)
    parent = _parent_id(msg)
    text = trim_quoted(body)
    if subject and not parent:
        text = f"{subject}\n\n{text}".strip()  # the first mail of a thread: its subject is what it is about
    if not text.strip():
        raise MalformedMail("The message has neither a subject nor any text.")
    message_id = normalise_id(_header(msg, "Message-ID")) or synthetic_id(address, msg, body)
    references = id_list(_header(msg, "References"))
    reply_to = _first_address(msg, "Reply-To") or address
    extra: dict[str, Any] = {
        "subject": subject,
        "from": address,
        "reply_to": reply_to,
        "to": [addr for _, addr in _addresses(msg, "To")],
        "cc": [addr for _, addr in _addresses(msg, "Cc")],
        "references": references[-MAX_REFERENCES:],
        "message_id_header": _header(msg, "Message-ID")[:500],
        "attachments": attachment_notes(msg),
    }
    if html_only:
        extra["converted_from_html"] = True
    if not _header(msg, "Message-ID"):
        extra["synthetic_message_id"] = True
    if automatic := automatic_reason(msg):
        extra["automatic"] = automatic  # RFC 3834: nothing automatic may answer it (mail loops)
        extra["bounce"] = is_bounce(msg)
    return InboundEvent(
        network=NETWORK,
        external_id=message_id,
        text=text[:MAX_TEXT_CHARS],
        created_at=_sent_at(msg, received_at),
        author_id=address,
        author_name=name,
        author_handle=address,
        brand_slug=mailbox.brand_slug,
        direction="out" if address in mailbox.own_addresses else "in",
        in_reply_to=parent,
        kind="email",
        extra=extra,
    )


def _header(msg: Message, name: str) -> str:
    """A header as text; a header the parser could not decode is read as its raw value, never an error."""
    try:
        value = msg.get(name)
    except Exception:  # a defective encoded-word: fall back to the undecoded text
        value = next((str(raw) for key, raw in msg.raw_items() if key.lower() == name.lower()), None)
    return " ".join(str(value).split()) if value is not None else ""


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    values = msg.get_all(name) or []
    pairs = getaddresses([str(v) for v in values])
    return [(" ".join(n.split()), a.strip().lower()) for n, a in pairs if "@" in a]


def _first_address(msg: Message, name: str) -> str:
    pairs = _addresses(msg, name)
    return pairs[0][1] if pairs else ""


def _sender(msg: Message) -> tuple[str, str]:
    pairs = _addresses(msg, "From") or _addresses(msg, "Sender")
    if not pairs:
        raise MalformedMail(f"No sender address in From: {_header(msg, 'From')[:200]!r}")
    name, address = pairs[0]
    return name, address


def _parent_id(msg: Message) -> str:
    """The message this one answers: In-Reply-To, else the newest References entry (some clients only
    write References)."""
    in_reply_to = id_list(_header(msg, "In-Reply-To"))
    if in_reply_to:
        return in_reply_to[-1]
    references = id_list(_header(msg, "References"))
    return references[-1] if references else reported_id(msg)


def reported_id(msg: Message) -> str:
    """The Message-ID of the mail a delivery report (bounce) is about, from the headers it returns: the
    report then joins the conversation of the reply that did not arrive, where the agent sees it."""
    if msg.get_content_type() != "multipart/report":
        return ""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            returned = inner[0] if isinstance(inner, list) and inner else None
        elif kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            returned = message_from_bytes(payload if isinstance(payload, bytes) else b"", policy=policy.default)
        else:
            continue
        if isinstance(returned, Message) and (found := normalise_id(_header(returned, "Message-ID"))):
            return found
    return ""


def is_bounce(msg: Message) -> bool:
    """A delivery report, or a mail with the empty return path only the mail system uses."""
    return msg.get_content_type() == "multipart/report" or _header(msg, "Return-Path") == "<>"


def automatic_reason(msg: Message) -> str:
    """Why the mail was sent by a machine rather than a person (an out-of-office, a bounce, a list), or ""."""
    if is_bounce(msg):
        return "delivery failure report (a bounce)"
    auto = _header(msg, "Auto-Submitted").lower()
    precedence = _header(msg, "Precedence").lower()
    for hit, reason in (
        (auto not in ("", "no"), f"Auto-Submitted: {auto}"),
        (precedence in ("bulk", "junk", "list"), f"Precedence: {precedence}"),
        (bool(_header(msg, "X-Autoreply") or _header(msg, "X-Autorespond")), "auto-reply header"),
    ):
        if hit:
            return reason
    return ""


def _sent_at(msg: Message, received_at: datetime | None) -> datetime:
    """The Date header in UTC; the server's arrival time when the header is missing, unreadable or in the
    future (a sender's wrong clock must not sort a mail above everything else)."""
    fallback = received_at or datetime.now(UTC)
    try:
        when = parsedate_to_datetime(_header(msg, "Date"))
    except (TypeError, ValueError, IndexError):
        return fallback.astimezone(UTC) if fallback.tzinfo else fallback.replace(tzinfo=UTC)
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when > datetime.now(UTC) + FUTURE_SLACK:
        return fallback.astimezone(UTC) if fallback.tzinfo else fallback.replace(tzinfo=UTC)
    return when


def synthetic_id(address: str, msg: Message, body: str) -> str:
    """A stable id for a mail without a Message-ID: the same mail read twice gets the same id (so it is stored
    once), from what the sender wrote rather than what relays added on the way."""
    basis = "\n".join([address, _header(msg, "Date"), _header(msg, "Subject"), body])
    return "hubbub-" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:32] + "@synthetic.invalid"


def decode_part(part: Message) -> str:
    """A text part's content; undecodable bytes and unknown charsets become replacement characters."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(payload or "")
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know ("x-unknown", a typo)
        return payload.decode("utf-8", errors="replace")


def body_text(msg: Message) -> tuple[str, bool]:
    """The message's text, plain preferred; HTML only when there is no plain part (then `True`)."""
    part: Message | None
    if isinstance(msg, EmailMessage):
        part = msg.get_body(preferencelist=("plain", "html"))
    else:
        part = msg if msg.get_content_maintype() == "text" else None
    if part is None:
        return "", False
    text = decode_part(part)
    if part.get_content_subtype() == "html":
        return html_to_text(text), True
    return _tidy(text), False


def attachment_notes(msg: Message) -> list[dict[str, Any]]:
    """What was attached (name, type, size): noted for the agent, never stored or opened."""
    if not isinstance(msg, EmailMessage):
        return []
    notes = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        notes.append(
            {
                "filename": (part.get_filename() or "")[:200],
                "content_type": part.get_content_type(),
                "size": len(payload) if isinstance(payload, bytes) else 0,
            }
        )
    return notes


_QUOTE_HEADER = re.compile(
    r"^\s*(On .{4,200} wrote:|Le .{4,200} a écrit ?:|Am .{4,200} schrieb .{0,100}:"
    r"|-{2,}\s*Original Message\s*-{2,})\s*$",
    re.IGNORECASE,
)


def trim_quoted(text: str) -> str:
    """The new part of a reply: stops at "On … wrote:" / "Original Message" followed by the quote, and drops a
    trailing block of `>` lines. Only the simple, common shapes: when unsure, the text is kept whole."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _QUOTE_HEADER.match(line) and _is_quote_tail(lines[i + 1 :]):
            kept = "\n".join(lines[:i]).rstrip()
            return kept if kept else text.strip()
    end = len(lines)
    while end > 0 and (lines[end - 1].startswith(">") or not lines[end - 1].strip()):
        end -= 1
    kept = "\n".join(lines[:end]).rstrip()
    return kept if kept else text.strip()


def _is_quote_tail(rest: list[str]) -> bool:
    """After a quote header, the rest must look like the quoted mail: `>` lines, or (Outlook) header lines."""
    content = [line for line in rest if line.strip()]
    if not content:
        return True
    if all(line.startswith(">") for line in content):
        return True
    return bool(re.match(r"^\s*(From|De|Von|Sent|Date):", content[0], re.IGNORECASE))


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"\n{3,}", "\n\n", text).strip()
