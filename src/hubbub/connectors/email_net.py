"""IMAP and SMTP connections that go only to the addresses the outbound policy checked.

Why: a channel's mail servers are typed in by an admin of a customer organisation. Checking the name and then
letting the library resolve it again would let a DNS answer that changes in between (rebinding) reach a
private address; and the servers' answers reach the page as the channel's error. So the name is resolved and
judged once (`outbound_http.checked_addresses`), the TCP connection is made to one of those addresses, and TLS
still checks the certificate against the name. The clients are the libraries' own, with only the socket
creation replaced (imaplib's `_create_socket`, smtplib's `_get_socket`, both of which exist for this).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from typing import Any

from imapclient import IMAPClient
from imapclient.imap4 import IMAP4WithTimeout
from imapclient.tls import IMAP4_TLS, wrap_socket

from hubbub.outbound_http import IPAddress


def connect_to_checked(addresses: Sequence[IPAddress], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first of `addresses` that answers (each was checked); the last error if none."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((str(address), port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _CheckedIMAP4(IMAP4WithTimeout):
    def __init__(self, host: str, port: int, timeout: float | None, addresses: Sequence[IPAddress]) -> None:
        self._addresses = addresses
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return connect_to_checked(self._addresses, self.port, timeout if timeout is not None else self._timeout)


class _CheckedIMAP4TLS(IMAP4_TLS):
    def __init__(
        self, host: str, port: int, context: ssl.SSLContext, timeout: float | None, addresses: Sequence[IPAddress]
    ) -> None:
        self._addresses = addresses
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = connect_to_checked(self._addresses, self.port, timeout if timeout is not None else self._timeout)
        return wrap_socket(sock, self.ssl_context, self.host)  # the certificate is checked against the name


class CheckedIMAPClient(IMAPClient):
    """IMAPClient connecting to the checked addresses of `host`."""

    def __init__(self, host: str, *, addresses: Sequence[IPAddress], **kwargs: Any) -> None:
        self._checked_addresses = addresses
        super().__init__(host, **kwargs)

    def _create_IMAP4(self) -> Any:
        timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _CheckedIMAP4TLS(self.host, self.port, self.ssl_context, timeout, self._checked_addresses)
        return _CheckedIMAP4(self.host, self.port, timeout, self._checked_addresses)


class CheckedSMTP(smtplib.SMTP):
    """smtplib.SMTP connecting to the checked addresses (STARTTLS still checks the certificate by name)."""

    def __init__(self, host: str, port: int, *, addresses: Sequence[IPAddress], timeout: float) -> None:
        self._checked_addresses = addresses
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect_to_checked(self._checked_addresses, port, timeout)


class CheckedSMTPSSL(smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL connecting to the checked addresses; TLS checks the certificate by name."""

    def __init__(
        self, host: str, port: int, *, addresses: Sequence[IPAddress], timeout: float, context: ssl.SSLContext
    ) -> None:
        self._checked_addresses = addresses
        self._server_name = host
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = connect_to_checked(self._checked_addresses, port, timeout)
        return self.context.wrap_socket(sock, server_hostname=self._server_name)
