"""The one HTTP client for every URL a user or a network gave Hubbub (the server-side request forgery policy).

Why: a webhook, an alert target, a feed or a CRM address is chosen by someone the operator does not control.
Fetched naively it reaches the cloud metadata service, an admin page on localhost or the office network, and
the outcome we show ("ok", "HTTP 500", "connection refused") maps them for the attacker. So every such request
goes through here, and nowhere else:

- only http and https, and no `user:pass@` in the address;
- the name is resolved here, and every address it resolves to must be public: not private, loopback,
  link-local, multicast, reserved, unspecified or shared (CGNAT), nor an IPv6 form that embeds one of those
  (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo); odd IPv4 spellings (`2130706433`, `0177.0.0.1`,
  `127.1`) are read the way the C library would read them, and judged as that address;
- the TCP connection goes to the address that was checked (this module's network backend makes the connect),
  so a DNS answer that changes between the check and the connect (rebinding) cannot move it, while the Host
  header, TLS SNI and the certificate check keep the name;
- redirects are followed at most `MAX_REDIRECTS` times, every hop through the same checks;
- connect and read timeouts, and a size limit enforced while the body streams in;
- an operator allow-list (`settings.OUTBOUND_ALLOW`, env `HUBBUB_OUTBOUND_ALLOW`: `host:port`, a bare address
  or a CIDR) opens chosen private hosts to tests and private deployments;
- every failure is an `OutboundError` whose message is safe to show a user: never a response body, and
  nothing about a refused address beyond why it was refused (no connection is ever tried to it).

`outbound_client()` gives an `httpx.Client`, `outbound_session()` a `requests.Session` (for libraries built on
`requests`, such as mastodon-py) with the same policy; `validate_user_url()` is the save-time check for forms
and the API.
"""

from __future__ import annotations

import functools
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.exceptions
import urllib3.util.connection
from django.conf import settings

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# A server that drips one byte just before each read timeout would otherwise hold a worker for ever.
DEFAULT_DEADLINE_SECONDS = 60.0

# Blocked ranges that the `ipaddress` properties of Python 3.11 do not all name, with the reason shown.
_BLOCKED_NETS: tuple[tuple[IPNetwork, str], ...] = (
    (ip_network("0.0.0.0/8"), "unspecified address"),
    (ip_network("100.64.0.0/10"), "shared address space (CGNAT)"),
    (ip_network("192.0.0.0/24"), "reserved address"),
    (ip_network("198.18.0.0/15"), "reserved address"),
    (ip_network("240.0.0.0/4"), "reserved address"),
    (ip_network("64:ff9b:1::/48"), "reserved address"),
    (ip_network("fec0::/10"), "private network"),
)
_NAT64 = ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ip_network("::/96")
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")


class OutboundError(httpx.TransportError):
    """A request Hubbub could not make or complete; `str(exc)` and `outcome` are safe to show a user."""

    default_message = "failed: could not connect"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def outcome(self) -> str:
        """The short class of the failure recorded and shown for a delivery ("failed: timed out")."""
        return str(self)


class OutboundRefused(OutboundError):
    """The address is not one Hubbub may send to; nothing was sent to it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"this address is not allowed: {reason}")

    @property
    def outcome(self) -> str:
        return "refused: address not allowed"


class OutboundTimeout(OutboundError):
    default_message = "failed: timed out"


class OutboundTooLarge(OutboundError):
    default_message = "failed: response too large"


# ------------------------------------------------------------------------------------------ address policy


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries and reaches (mapped, compatible, NAT64, 6to4, Teredo client)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _V4_COMPATIBLE or ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why Hubbub must not connect to `ip` (a short reason a user can read), or None for a public address."""
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified address"),
        (ip.is_loopback, "loopback address"),
        (ip.is_link_local, "link-local address (cloud metadata)"),
        (ip.is_multicast, "multicast address"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_problem(embedded)
        if ip.scope_id:
            return "link-local address (cloud metadata)"
    for net, reason in _BLOCKED_NETS:
        if ip.version == net.version and ip in net:
            return reason
    if ip.is_private:
        return "private network"
    if ip.is_reserved or not ip.is_global:
        return "reserved address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The IP address written as the host, in any spelling the C library accepts, or None for a name.

    `2130706433`, `0177.0.0.1`, `0x7f.1` and `127.1` all mean 127.0.0.1 to `inet_aton` (and so to the
    resolver): they are judged as that address, not as names.
    """
    bare = host.strip("[]").rstrip(".")
    try:
        return ip_address(bare)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(bare) and any(c.isdigit() for c in bare):
        try:
            return IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def _system_resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


# The name resolver; tests replace it to play a DNS server that lies or changes its answer.
resolve_name: Callable[[str, int], list[str]] = _system_resolve


@dataclass(frozen=True)
class _AllowEntry:
    net: IPNetwork
    port: int | None


@functools.lru_cache(maxsize=16)
def _parse_allow(entries: tuple[str, ...]) -> tuple[_AllowEntry, ...]:
    parsed = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        port: int | None = None
        match = re.fullmatch(r"\[(.+)\]:(\d+)|([^:\[\]]+):(\d+)", entry)
        if match:
            entry, port = (match[1] or match[3]), int(match[2] or match[4])
        try:
            parsed.append(_AllowEntry(ip_network(entry.strip("[]"), strict=False), port))
        except ValueError as exc:
            raise ValueError(f"OUTBOUND_ALLOW: {raw!r} is not an address, address:port or CIDR") from exc
    return tuple(parsed)


def _operator_allows(ip: IPAddress, port: int) -> bool:
    entries = _parse_allow(tuple(getattr(settings, "OUTBOUND_ALLOW", ()) or ()))
    return any(ip.version == e.net.version and ip in e.net and e.port in (None, port) for e in entries)


def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses to connect to for `host:port`, every one allowed; `OutboundRefused` if any is not.

    Refusing when any answer is private (not only the first) keeps a name that mixes public and private answers
    from reaching the private one on a retry.
    """
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = resolve_name(host, port)
        except (OSError, UnicodeError) as exc:
            raise OutboundError("failed: name not found") from exc
        addresses = [ip_address(a.split("%", 1)[0]) for a in answers]
        if not addresses:
            raise OutboundError("failed: name not found")
    for ip in addresses:
        if _operator_allows(ip, port):
            continue
        problem = address_problem(ip)
        if problem is not None:
            raise OutboundRefused(problem)
    return addresses


def _invalid_url(url: str) -> OutboundRefused:
    """The refusal of a URL httpx cannot parse; an address in an odd spelling (`0177.0.0.1`) is named."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        host = ""
    literal = literal_address(host)
    problem = address_problem(literal) if literal is not None else None
    return OutboundRefused(problem or "not a valid web address")


def check_url(url: httpx.URL | str) -> httpx.URL:
    """The URL parsed, if its form is one Hubbub sends to (scheme, no credentials, a host); else refused."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _invalid_url(str(url)) from exc
    if parsed.scheme not in ("http", "https"):
        raise OutboundRefused("only http and https addresses")
    if parsed.userinfo:
        raise OutboundRefused("user names and passwords in the address")
    if not parsed.host:
        raise OutboundRefused("no host name")
    return parsed


def _port_of(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def validate_user_url(url: str) -> str:
    """The URL (stripped) if Hubbub may send to it, for save-time checks in forms and the API.

    Raises `OutboundRefused` with a message for the form or the 422 ("this address is not allowed: private
    network"). A name that does not resolve now is accepted: DNS changes, and every request is checked again.
    """
    parsed = check_url(url)
    try:
        checked_addresses(parsed.host, _port_of(parsed))
    except OutboundRefused:
        raise
    except OutboundError:
        pass
    return url.strip()


# ------------------------------------------------------------------------------------------ httpx client


class _PinnedBackend(httpcore.SyncBackend):
    """Resolves and checks the host itself, then connects to an address it checked (never resolves again)."""

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        addresses = checked_addresses(host, port)
        error: Exception | None = None
        for ip in addresses:
            try:
                return super().connect_tcp(str(ip), port, *args, **kwargs)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error


@contextmanager
def transport_errors() -> Iterator[None]:
    """httpx's transport failures as the user-safe `OutboundError` family (a closed and a filtered port read
    alike: "could not connect")."""
    try:
        yield
    except OutboundError:
        raise
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise OutboundError() from exc
    except httpx.TimeoutException as exc:
        raise OutboundTimeout() from exc
    except httpx.TransportError as exc:
        raise OutboundError("failed: connection lost") from exc


class BodyBudget:
    """What a response body may still use: `max_bytes`, and time until a deadline, so a huge or endless
    answer never fills memory or holds a worker (a server that drips a byte inside each read timeout)."""

    def __init__(self, max_bytes: int, deadline_seconds: float) -> None:
        self.max_bytes, self.deadline, self.received = max_bytes, time.monotonic() + deadline_seconds, 0

    def check_declared(self, headers: Mapping[str, str]) -> None:
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise OutboundTooLarge(f"failed: response larger than {self.max_bytes} bytes")

    def take(self, chunk: bytes) -> bytes:
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise OutboundTooLarge(f"failed: response larger than {self.max_bytes} bytes")
        if time.monotonic() > self.deadline:
            raise OutboundTimeout()
        return chunk


class _LimitedStream(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, budget: BodyBudget) -> None:
        self._stream, self._budget = stream, budget

    def __iter__(self) -> Iterator[bytes]:
        with transport_errors():
            for chunk in self._stream:
                yield self._budget.take(chunk)

    def close(self) -> None:
        self._stream.close()


def with_stream(response: httpx.Response, stream: httpx.SyncByteStream | httpx.AsyncByteStream) -> httpx.Response:
    """The transport's response with its body read through `stream` (the budget's)."""
    return httpx.Response(
        status_code=response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
    )


@functools.cache
def default_ssl_context(verify: bool) -> ssl.SSLContext:
    """One context per process: loading the CA bundle costs more CPU than a small request, and an
    `SSLContext` is safe to share between clients and threads."""
    return httpx.create_ssl_context(verify=verify)  # honours the operator's SSL_CERT_FILE / SSL_CERT_DIR


class _PolicyTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose every TCP connect goes through `_PinnedBackend`."""

    def __init__(self, max_bytes: int, deadline_seconds: float, verify: bool | ssl.SSLContext = True) -> None:
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else default_ssl_context(verify)
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx 0.28 builds its pool without a network-backend argument; ours is the same pool with the backend.
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=_PinnedBackend())
        self._max_bytes, self._deadline_seconds = max_bytes, deadline_seconds

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url)
        with transport_errors():
            response = super().handle_request(request)
        budget = BodyBudget(self._max_bytes, self._deadline_seconds)
        try:
            budget.check_declared(response.headers)
        except OutboundTooLarge:
            response.close()
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        return with_stream(response, _LimitedStream(response.stream, budget))


@contextmanager
def refused_url(url: httpx.URL | str) -> Iterator[None]:
    """A URL httpx cannot parse, refused like any other address not allowed."""
    try:
        yield
    except httpx.InvalidURL as exc:
        raise _invalid_url(str(url)) from exc


@contextmanager
def redirect_limit() -> Iterator[None]:
    try:
        yield
    except httpx.TooManyRedirects as exc:
        raise OutboundError("failed: too many redirects") from exc


def refuse_bypass(kwargs: dict[str, Any]) -> None:
    """Client arguments that would route around the policy (their own transport, a proxy, more redirects)."""
    for bypass in ("transport", "mounts", "proxy", "trust_env", "max_redirects"):
        if bypass in kwargs:
            raise TypeError(f"the outbound client does not take {bypass!r}: it would bypass the address policy")


class OutboundClient(httpx.Client):
    """An `httpx.Client` whose unparseable URLs and redirect limit also raise an `OutboundError`."""

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        with refused_url(url):
            return super().build_request(method, url, **kwargs)

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        with redirect_limit():
            return super().send(request, **kwargs)


def build_client(
    client_class: type[Any],
    transport_class: type[Any],
    *,
    timeout: httpx.Timeout | float | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    follow_redirects: bool = True,
    verify: bool | ssl.SSLContext = True,
    **kwargs: Any,
) -> Any:
    """An outbound client of `client_class` over the policy transport; the arguments of `outbound_client`."""
    refuse_bypass(kwargs)
    return client_class(
        transport=transport_class(max_bytes, deadline_seconds, verify),
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        follow_redirects=follow_redirects,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
        **kwargs,
    )


def outbound_client(**kwargs: Any) -> httpx.Client:
    """The client for any URL a user or a network gave Hubbub (see the module's docstring for the policy).

    Arguments: `timeout` (an `httpx.Timeout` or seconds; default 5 s to connect, 10 s to read), `max_bytes`
    (body limit, default 5 MiB), `deadline_seconds` (for the whole body, default 60), `follow_redirects`
    (default True, at most `MAX_REDIRECTS`), `verify` (an `ssl.SSLContext`, or a bool). Other keyword arguments
    go to `httpx.Client` (headers, base_url, …); a transport, mounts or a proxy are refused, since each would
    bypass the policy. `outbound_async.async_outbound_client` is the same for an event loop.
    """
    client: httpx.Client = build_client(OutboundClient, _PolicyTransport, **kwargs)
    return client


# ------------------------------------------------------------------------------------------ requests adapter


def _pinned_socket(conn: Any) -> socket.socket:
    """urllib3's `_new_conn` with the check: connect to an address `checked_addresses` allowed."""
    error: Exception | None = None
    for ip in checked_addresses(conn.host, conn.port):
        try:
            return urllib3.util.connection.create_connection(
                (str(ip), conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            error = urllib3.exceptions.ConnectTimeoutError(conn, "connect timed out")
            error.__cause__ = exc
        except OSError as exc:
            error = urllib3.exceptions.NewConnectionError(conn, "could not connect")
            error.__cause__ = exc
    assert error is not None
    raise error


class _PinnedHTTPConnection(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _pinned_socket(self)


class _PinnedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _pinned_socket(self)


class _PinnedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _LimitedRaw:
    """urllib3's response as requests reads it (`stream`, `read`), spending the body budget as it goes, so a
    reader with `stream=True` is cut at the limit too; everything else is the urllib3 response's."""

    def __init__(self, raw: Any, budget: BodyBudget) -> None:
        self._raw, self._budget = raw, budget

    def stream(self, amt: int | None = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        for chunk in self._raw.stream(amt, decode_content=decode_content):
            yield self._budget.take(chunk)

    def read(self, amt: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        return self._budget.take(self._raw.read(amt, *args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _PolicyAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter over pools whose connections go through `_pinned_socket`; mounted for every scheme so
    that `file://` and friends are refused here too."""

    def __init__(self, timeout: tuple[float, float], max_bytes: int) -> None:
        self._timeout, self._max_bytes = timeout, max_bytes
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        check_url(request.url or "")
        try:
            response = super().send(request, True, timeout or self._timeout, verify, cert, None)
            budget = BodyBudget(self._max_bytes, DEFAULT_DEADLINE_SECONDS)
            response.raw = _LimitedRaw(response.raw, budget)
            try:
                budget.check_declared(response.headers)
                if not stream:
                    response._content = b"".join(response.raw.stream(64 * 1024, decode_content=True))
            except OutboundError:
                response.close()
                raise
        except requests.exceptions.ConnectTimeout as exc:
            raise OutboundError() from exc
        except (requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError) as exc:
            raise OutboundTimeout() from exc
        except requests.exceptions.ConnectionError as exc:
            raise OutboundError() from exc
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise OutboundError("failed: connection lost") from exc
        return response


def outbound_session(
    *, timeout: tuple[float, float] = (5.0, 10.0), max_bytes: int = DEFAULT_MAX_BYTES
) -> requests.Session:
    """A `requests.Session` with the same policy, for libraries built on `requests` (mastodon-py).

    No proxies or `.netrc` from the environment, at most `MAX_REDIRECTS` redirects, each hop checked; a body
    is cut at `max_bytes` and the overall deadline, read at once or with `stream=True`.
    """
    session = requests.Session()
    session.trust_env = False
    session.max_redirects = MAX_REDIRECTS
    session.adapters.clear()
    session.mount("", _PolicyAdapter(timeout, max_bytes))
    return session


__all__ = [
    "MAX_REDIRECTS",
    "OutboundError",
    "OutboundRefused",
    "OutboundTimeout",
    "OutboundTooLarge",
    "address_problem",
    "check_url",
    "checked_addresses",
    "literal_address",
    "outbound_client",
    "outbound_session",
    "validate_user_url",
]
