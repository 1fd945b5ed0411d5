"""Sending the brand's reply by SMTP, threaded so the customer's mail client shows it under their mail.

The reply carries `In-Reply-To` (the customer's Message-ID) and `References` (theirs plus that id), the subject
`Re: …`, and a Message-ID made from the reply's idempotency key: the same reply always has the same id. That
is what makes delivery exactly-once possible on a protocol without idempotency: after sending, the mail is
filed in the mailbox's Sent folder (IMAP APPEND), and `find_posted` looks for that Message-ID there before a
retried attempt sends again. The id is also what `send_reply` returns, so the customer's answer to the reply
(`In-Reply-To` = that id) threads into the same conversation.

What is left: a worker that dies in the milliseconds between the SMTP server's acceptance and the APPEND
leaves no copy in Sent; a retry then sends a second mail (with the same Message-ID, which most clients show
once).

SMTP answers decide what delivery does next: 4xx and lost connections are transient (tried again), 5xx are
permanent (the agent sees the server's reason), a refused login is permanent until the channel is reconnected.
"""

from __future__ import annotations

import imaplib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import TYPE_CHECKING, Any

from imapclient.exceptions import IMAPClientError

from hubbub.connectors.base import ChannelError, OutboundReply
from hubbub.connectors.email_imap import (
    TIMEOUT_SECONDS,
    MailSettings,
    find_by_message_id,
    imap_session,
    sent_folder,
)
from hubbub.connectors.email_net import CheckedSMTP, CheckedSMTPSSL
from hubbub.connectors.email_parse import MAX_REFERENCES, id_list, normalise_id
from hubbub.connectors.outbound import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from hubbub.faults import crash_point

if TYPE_CHECKING:
    from hubbub.connectors.models import Channel

log = logging.getLogger("hubbub.connectors.email")


@dataclass(frozen=True, slots=True)
class Original:
    """What the reply needs of the customer's mail: its id, subject, references and where answers go."""

    message_id: str
    subject: str
    references: list[str]
    reply_to: str


def reply_message_id(reply: OutboundReply, settings: MailSettings) -> str:
    """The reply's Message-ID (bare): stable per reply, unique across brands and mailboxes."""
    return f"hubbub.{reply.idempotency_key}@{settings.domain}"


def compose(reply: OutboundReply, settings: MailSettings, original: Original, brand_name: str = "") -> EmailMessage:
    """The reply as a mail the customer's client threads under theirs."""
    msg = EmailMessage()
    msg["From"] = formataddr((brand_name, settings.address)) if brand_name else settings.address
    msg["To"] = original.reply_to
    subject = original.subject or "Your message"
    msg["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{reply_message_id(reply, settings)}>"
    if original.message_id:
        msg["In-Reply-To"] = f"<{original.message_id}>"
        chain = [ref for ref in original.references if ref != original.message_id] + [original.message_id]
        msg["References"] = " ".join(f"<{ref}>" for ref in chain[-MAX_REFERENCES:])
    msg.set_content(reply.text)
    return msg


def original_of(reply: OutboundReply, settings: MailSettings) -> Original:
    """The answered mail's headers from its event (`in_reply_to_extra`), read back from the mailbox when the
    event did not keep them."""
    extra = reply.in_reply_to_extra or {}
    if extra.get("bounce"):
        raise PermanentDeliveryError(
            f"The last message is a delivery failure report from {extra.get('from') or 'the mail system'}, not "
            "the customer: the previous reply did not reach them. Check their address; replying here would only "
            "mail the mail system."
        )
    message_id = normalise_id(reply.in_reply_to)
    subject, references = str(extra.get("subject") or ""), list(extra.get("references") or [])
    if message_id and not extra.get("subject"):
        subject, references = _headers_from_mailbox(settings, message_id) or (subject, references)
    reply_to = str(extra.get("reply_to") or reply.recipient or extra.get("from") or "")
    if "@" not in reply_to:
        raise PermanentDeliveryError("The customer's email address is unknown: there is nowhere to send the reply.")
    return Original(message_id=message_id, subject=subject, references=references, reply_to=reply_to)


def _headers_from_mailbox(settings: MailSettings, message_id: str) -> tuple[str, list[str]] | None:
    try:
        with imap_session(settings) as client:
            uids = find_by_message_id(client, settings.folder, message_id)
            if not uids:
                return None
            fetched = client.fetch(uids[:1], ["BODY.PEEK[HEADER]"])
    except ChannelError as exc:
        raise _delivery_error(exc) from exc
    first: dict[bytes, Any] = next(iter(fetched.values()), {})
    raw = first.get(b"BODY[HEADER]", b"")
    headers = message_from_bytes(raw, policy=policy.default)
    return str(headers.get("Subject", "")), id_list(str(headers.get("References", "")))


def send(channel: Channel, reply: OutboundReply) -> str:
    """Send the reply, file it in Sent, and return its Message-ID (the network id of the brand's message)."""
    settings = _settings(channel)
    original = original_of(reply, settings)
    try:
        msg = compose(reply, settings, original, brand_name=channel.brand.name)
    except (ValueError, TypeError) as exc:  # an address or subject a mail header cannot hold: no retry helps
        raise PermanentDeliveryError(f"Could not write the mail to {original.reply_to}: {exc}") from exc
    message_id = reply_message_id(reply, settings)
    smtp_send(settings, msg)
    crash_point("email.smtp_accepted")  # the customer has the mail; Sent does not have it yet
    _file_in_sent(settings, msg, message_id)
    return message_id


def find_posted(channel: Channel, reply: OutboundReply) -> str | None:
    """The reply's Message-ID if a copy is in the Sent folder (an earlier attempt sent it), else None."""
    settings = _settings(channel)
    message_id = reply_message_id(reply, settings)
    try:
        with imap_session(settings) as client:
            found = find_by_message_id(client, sent_folder(client, settings), message_id)
    except ChannelError as exc:
        raise _delivery_error(exc) from exc
    return message_id if found else None


def _settings(channel: Channel) -> MailSettings:
    try:
        return MailSettings.from_credentials(channel.credentials)
    except ChannelError as exc:
        raise _delivery_error(exc) from exc


def _delivery_error(exc: ChannelError) -> DeliveryError:
    """A channel that needs reconnecting cannot send until an admin acts: permanent; anything else may pass."""
    if exc.reconnect_needed:
        return PermanentDeliveryError(exc.reason)
    return TransientDeliveryError(exc.reason, retry_after=exc.retry_after)


def _file_in_sent(settings: MailSettings, msg: EmailMessage, message_id: str) -> None:
    """Keep a copy in Sent (unless the server already filed one, as Gmail does), for the brand's mail client
    and for `find_posted`. The mail is sent by now: a failure here is logged, not the reply's failure."""
    try:
        with imap_session(settings) as client:
            folder = sent_folder(client, settings)
            if not find_by_message_id(client, folder, message_id):
                client.append(folder, msg.as_bytes(), flags=[b"\\Seen"])
    except (ChannelError, OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        log.warning("reply %s was sent but not filed in Sent: %s", message_id, exc)


def smtp_send(settings: MailSettings, msg: EmailMessage) -> None:
    """Hand the mail to the SMTP server; its refusals become delivery errors that carry its reason."""
    try:
        addresses = settings.check_host(settings.smtp_host, settings.smtp_port, settings.smtp_tls)
    except ChannelError as exc:
        raise _delivery_error(exc) from exc
    host = f"{settings.smtp_host}:{settings.smtp_port}"
    context = ssl.create_default_context()
    server, port = settings.smtp_host, settings.smtp_port
    try:
        if settings.smtp_tls == "ssl":
            smtp: smtplib.SMTP = CheckedSMTPSSL(
                server, port, addresses=addresses, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = CheckedSMTP(server, port, addresses=addresses, timeout=TIMEOUT_SECONDS)
        with smtp:
            smtp.ehlo()  # the server's extensions are known only after EHLO (and again after STARTTLS)
            if settings.smtp_tls == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if smtp.has_extn("auth"):
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(msg, from_addr=settings.address, to_addrs=[str(msg["To"])])
    except smtplib.SMTPException as exc:
        raise smtp_error(exc, host) from exc
    except OSError as exc:  # refused, reset, timed out, TLS failure
        raise TransientDeliveryError(f"Could not reach the mail server {host}: {exc or type(exc).__name__}") from exc


def smtp_error(exc: smtplib.SMTPException, host: str) -> DeliveryError:
    """4xx: try again; 5xx: refused for good, with the server's words; a refused login: reconnect."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentDeliveryError(
            f"The mail server {host} refused the login ({exc.smtp_code}): check the password and reconnect the channel."
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.items())
        code = min(int(answer[0]) for _, answer in answers) if answers else 550
        words = "; ".join(f"{addr}: {_text(answer[1])}" for addr, answer in answers)
        return _by_code(code, f"The mail server {host} refused the recipient ({code}): {words}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(int(exc.smtp_code), f"The mail server {host} answered {exc.smtp_code}: {_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryError(f"The mail server {host} does not support what sending needs: {exc}")
    return TransientDeliveryError(f"The mail server {host} failed: {exc or type(exc).__name__}")


def _by_code(code: int, reason: str) -> DeliveryError:
    return PermanentDeliveryError(reason) if 500 <= code < 600 else TransientDeliveryError(reason)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
