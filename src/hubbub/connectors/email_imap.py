"""The email channel's settings and its IMAP session, shared by reading (`email_in`) and sending (`email_out`).

Why one place: both directions log in to the same mailbox (reading the inbox, filing sent replies in Sent and
looking for them after a crash), and both must turn the server's failures into the same words for the admins:
a refused password means "reconnect" (`ChannelError(reconnect_needed=True)`), an unreachable server means
"try again later".
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from hubbub.connectors.base import ChannelError
from hubbub.connectors.email_net import CheckedIMAPClient
from hubbub.outbound_http import IPAddress, OutboundError, OutboundRefused, checked_addresses

TIMEOUT_SECONDS = 30.0  # one IMAP/SMTP command; far below the delivery's reclaim delay (300 s)
TLS_MODES = ("ssl", "starttls", "none")
DEFAULT_BACKFILL_DAYS = 7  # a newly connected mailbox brings its last week in, not its whole history


@dataclass(frozen=True, slots=True)
class MailSettings:
    """A channel's `credentials`, checked: hosts, ports, login, the brand's address and how to secure the line
    (`ssl`: TLS from the start, `starttls`: upgraded, `none`: only to this machine, never a password in clear
    over a network). SMTP logs in as the IMAP user unless `smtp_username`/`smtp_password` say otherwise."""

    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int
    username: str
    password: str
    smtp_username: str
    smtp_password: str
    address: str
    tls: str
    smtp_tls: str
    folder: str
    sent_folder: str
    backfill_days: int

    @classmethod
    def from_credentials(cls, creds: dict[str, Any]) -> MailSettings:
        missing = [key for key in ("imap_host", "username", "password", "address") if not creds.get(key)]
        if missing:
            raise ChannelError(f"The email channel lacks {', '.join(missing)}.", reconnect_needed=True)
        tls = str(creds.get("tls") or "ssl").lower()
        smtp_tls = str(creds.get("smtp_tls") or ("ssl" if tls == "ssl" else tls)).lower()
        for mode in (tls, smtp_tls):
            if mode not in TLS_MODES:
                raise ChannelError(f"Unknown TLS mode {mode!r}: use ssl, starttls or none.", reconnect_needed=True)
        try:
            imap_port = int(creds.get("imap_port") or (993 if tls == "ssl" else 143))
            smtp_port = int(creds.get("smtp_port") or (465 if smtp_tls == "ssl" else 587))
            backfill_days = int(creds.get("backfill_days") or DEFAULT_BACKFILL_DAYS)
        except (TypeError, ValueError) as exc:
            raise ChannelError(
                f"The ports and backfill days must be whole numbers: {exc}", reconnect_needed=True
            ) from exc
        return cls(
            imap_host=str(creds["imap_host"]),
            imap_port=imap_port,
            smtp_host=str(creds.get("smtp_host") or creds["imap_host"]),
            smtp_port=smtp_port,
            username=str(creds["username"]),
            password=str(creds["password"]),
            smtp_username=str(creds.get("smtp_username") or creds["username"]),
            smtp_password=str(creds.get("smtp_password") or creds["password"]),
            address=str(creds["address"]).strip().lower(),
            tls=tls,
            smtp_tls=smtp_tls,
            folder=str(creds.get("folder") or "INBOX"),
            sent_folder=str(creds.get("sent_folder") or ""),
            backfill_days=backfill_days,
        )

    def check_host(self, host: str, port: int, tls: str) -> list[IPAddress]:
        """The addresses of a server Hubbub may connect to (the outbound address policy: no private, loopback or
        metadata addresses unless the operator allows them), so a channel cannot be used to probe the network.
        Connections go to these addresses only (`email_net`). Without TLS every address must be this machine:
        a password sent in clear is readable by anyone on the way."""
        try:
            addresses = checked_addresses(host, port)
        except OutboundRefused as exc:
            raise ChannelError(f"The mail server {host} is not allowed: {exc.reason}.", reconnect_needed=True) from exc
        except OutboundError as exc:
            raise ChannelError(f"Could not find the mail server {host}: {exc}.") from exc
        if tls == "none" and not all(ip.is_loopback for ip in addresses):
            raise ChannelError(
                f"{host} is not on this machine: use TLS (ssl or starttls), the password would travel in clear.",
                reconnect_needed=True,
            )
        return addresses

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "hubbub.invalid"


@contextmanager
def imap_session(settings: MailSettings) -> Iterator[IMAPClient]:
    """A logged-in IMAP connection, logged out afterwards. Failures become `ChannelError`s that say why: a
    refused login asks for a reconnect; a server that cannot be reached or drops the line is worth retrying."""
    host = f"{settings.imap_host}:{settings.imap_port}"
    addresses = settings.check_host(settings.imap_host, settings.imap_port, settings.tls)
    try:
        client = CheckedIMAPClient(
            settings.imap_host,
            addresses=addresses,
            port=settings.imap_port,
            ssl=settings.tls == "ssl",
            ssl_context=ssl.create_default_context(),
            timeout=TIMEOUT_SECONDS,
        )
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise ChannelError(f"Could not reach the mail server {host}: {_why(exc)}") from exc
    try:
        _login(client, settings, host)
        yield client
    except ChannelError:
        raise
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise ChannelError(f"The mail server {host} failed: {_why(exc)}") from exc
    finally:
        _logout(client)


def _login(client: IMAPClient, settings: MailSettings, host: str) -> None:
    if settings.tls == "starttls":
        client.starttls(ssl.create_default_context())
    try:
        client.login(settings.username, settings.password)
    except LoginError as exc:
        raise ChannelError(
            f"The mail server {host} refused the login of {settings.username}: check the password "
            f"(or the app password) and connect the channel again.",
            reconnect_needed=True,
        ) from exc


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError, imaplib.IMAP4.error):
        try:
            client.shutdown()
        except OSError:
            pass


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:.0f} s"
    return str(exc) or type(exc).__name__


def sent_folder(client: IMAPClient, settings: MailSettings) -> str:
    """The mailbox where sent mail is filed: the one the channel names, else the server's \\Sent (SPECIAL-USE
    or a usual name), else a "Sent" folder created for it."""
    if settings.sent_folder:
        if not client.folder_exists(settings.sent_folder):
            client.create_folder(settings.sent_folder)
        return settings.sent_folder
    found = client.find_special_folder(b"\\Sent")
    if found:
        return str(found)
    client.create_folder("Sent")
    return "Sent"


def find_by_message_id(client: IMAPClient, folder: str, message_id: str) -> list[int]:
    """UIDs in `folder` of the mail whose Message-ID is `message_id` (bare, without brackets)."""
    client.select_folder(folder, readonly=True)
    return [int(uid) for uid in client.search(["HEADER", "Message-ID", f"<{message_id}>"])]
