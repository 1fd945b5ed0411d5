"""Server-side request forgery attempts against the outbound client, as plain functions.

Each case aims the client (httpx or requests) at an address Hubbub must not reach and reports whether the
target was reached (a local listener counted a hit, or a TCP connect was tried to a forbidden address, or a
limit did not stop the read) and what the user would be told. `tests/security/test_ssrf.py` asserts on every
case; `run_ssrf_attempts()` gives `benchmarks/security.py` its `ssrf_attempts` and `ssrf_reached` figures.
Django settings must be configured (the allow-list is read from them).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import httpx
import urllib3.util.connection
from django.test import override_settings

from hubbub import outbound_http
from hubbub.outbound_http import OutboundError, OutboundTimeout, OutboundTooLarge, outbound_client, outbound_session
from tests.security.servers import CountingServer, ipv6_loopback_available


@dataclass
class Outcome:
    reached: bool
    message: str  # what the user is told ("" when nothing was refused)


@dataclass
class Lab:
    """The listeners and spies one run of the cases shares."""

    target: CountingServer  # a loopback service nobody allowed ("the admin page")
    allowed: CountingServer  # a receiver the operator allowed
    target6: CountingServer | None
    rebind_target: CountingServer | None  # 127.0.0.2 on the allowed receiver's port
    connects: list[tuple[str, int]] = field(default_factory=list)
    dns: dict[str, list[list[str]]] = field(default_factory=dict)

    def resolve(self, host: str, port: int) -> list[str]:
        answers = self.dns.get(host)
        if answers is None:
            raise socket.gaierror(f"{host} unknown in the lab")
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def hits(self) -> int:
        servers = (self.target, self.target6, self.rebind_target)
        return sum(s.hits for s in servers if s is not None)


Attempt = Callable[[Lab], Outcome]


def _fetch(lab: Lab, url: str, via: str = "httpx", **client_kw: Any) -> Outcome:
    """One request; reached if a forbidden listener was hit or a connect went to a non-allowed address."""
    hits, connects = lab.hits(), len(lab.connects)
    message = ""
    try:
        if via == "httpx":
            with outbound_client(**client_kw) as client:
                client.get(url)
        else:
            outbound_session(**client_kw).get(url)
    except OutboundError as exc:
        message = str(exc)
    forbidden = [c for c in lab.connects[connects:] if c != ("127.0.0.1", lab.allowed.port)]
    return Outcome(reached=lab.hits() > hits or bool(forbidden), message=message)


def _direct(url_of: Callable[[Lab], str], via: str = "httpx") -> Attempt:
    return lambda lab: _fetch(lab, url_of(lab), via)


def _rebinding(lab: Lab) -> Outcome:
    """The name answers the allowed receiver for the first connect, then 127.0.0.2 (not allowed)."""
    if lab.rebind_target is None:
        return Outcome(reached=False, message="this address is not allowed: (no 127.0.0.2 on this machine)")
    lab.dns["rebind.example"] = [["127.0.0.1"], ["127.0.0.2"]]
    url = f"http://rebind.example:{lab.allowed.port}/ok"
    first = _fetch(lab, url)
    second = _fetch(lab, url)
    return Outcome(reached=first.reached or second.reached, message=second.message)


def _limit(path: str, error: type[OutboundError], **client_kw: Any) -> Attempt:
    """Reached when the client read past its limit instead of stopping with `error`."""

    def attempt(lab: Lab) -> Outcome:
        try:
            with outbound_client(**client_kw) as client:
                client.get(lab.allowed.url(path))
        except error as exc:
            return Outcome(reached=False, message=str(exc))
        return Outcome(reached=True, message="")

    return attempt


def _port(lab: Lab) -> int:
    return lab.target.port


CASES: dict[str, Attempt] = {
    "metadata IP": _direct(lambda lab: f"http://169.254.169.254:{_port(lab)}/latest/meta-data/"),
    "loopback v4": _direct(lambda lab: lab.target.url("/admin")),
    "loopback v6": _direct(lambda lab: f"http://[::1]:{(lab.target6 or lab.target).port}/admin"),
    "10/8": _direct(lambda lab: f"http://10.0.0.1:{_port(lab)}/"),
    "172.16/12": _direct(lambda lab: f"http://172.16.5.4:{_port(lab)}/"),
    "192.168/16": _direct(lambda lab: f"http://192.168.0.1:{_port(lab)}/"),
    "link-local": _direct(lambda lab: f"http://169.254.1.1:{_port(lab)}/"),
    "CGNAT": _direct(lambda lab: f"http://100.64.0.1:{_port(lab)}/"),
    "unspecified 0.0.0.0": _direct(lambda lab: f"http://0.0.0.0:{_port(lab)}/admin"),
    "IPv4-mapped": _direct(lambda lab: f"http://[::ffff:127.0.0.1]:{_port(lab)}/admin"),
    "NAT64 of loopback": _direct(lambda lab: f"http://[64:ff9b::7f00:1]:{_port(lab)}/admin"),
    "decimal": _direct(lambda lab: f"http://2130706433:{_port(lab)}/admin"),
    "octal": _direct(lambda lab: f"http://0177.0.0.1:{_port(lab)}/admin"),
    "hex": _direct(lambda lab: f"http://0x7f.1:{_port(lab)}/admin"),
    "short": _direct(lambda lab: f"http://127.1:{_port(lab)}/admin"),
    "localhost name": _direct(lambda lab: f"http://localhost:{_port(lab)}/admin"),
    "userinfo": _direct(lambda lab: f"http://user:pass@127.0.0.1:{lab.allowed.port}/ok"),
    "file scheme": _direct(lambda lab: "file:///etc/passwd"),
    "gopher scheme": _direct(lambda lab: f"gopher://127.0.0.1:{_port(lab)}/_GET%20/admin"),
    "name resolving to private": _direct(lambda lab: f"http://internal.example:{_port(lab)}/admin"),
    "DNS rebinding": _rebinding,
    "redirect to a disallowed address": _direct(lambda lab: lab.allowed.url(f"/redirect?to={lab.target.url()}")),
    "redirect to metadata": _direct(lambda lab: lab.allowed.url("/redirect?to=http://169.254.169.254/")),
    "oversized body": _limit("/drip?n=3000000", OutboundTooLarge, max_bytes=1_000_000),
    "slow server": _limit("/slow", OutboundTimeout, timeout=httpx.Timeout(5.0, read=0.3)),
    "requests: loopback": _direct(lambda lab: lab.target.url("/admin"), via="requests"),
    "requests: metadata": _direct(lambda lab: f"http://169.254.169.254:{_port(lab)}/", via="requests"),
    "requests: name resolving to private": _direct(
        lambda lab: f"http://internal.example:{_port(lab)}/admin", via="requests"
    ),
    "requests: redirect": _direct(lambda lab: lab.allowed.url(f"/redirect?to={lab.target.url()}"), via="requests"),
}


def _optional_server(host: str, port: int = 0) -> CountingServer | None:
    try:
        return CountingServer(host, port=port)
    except OSError:
        return None


def _spy(lab: Lab, connect: Callable[..., socket.socket]) -> Callable[..., socket.socket]:
    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        lab.connects.append((str(address[0]), int(address[1])))
        return connect(address, *args, **kwargs)

    return spy


@contextmanager
def ssrf_lab() -> Iterator[Lab]:
    """Listeners on this machine, a lying resolver and a connect spy; only the `allowed` receiver is allowed."""
    with ExitStack() as stack:
        target = stack.enter_context(CountingServer())
        allowed = stack.enter_context(CountingServer())
        target6 = _optional_server("::1") if ipv6_loopback_available() else None
        rebind = _optional_server("127.0.0.2", allowed.port)
        for extra in (target6, rebind):
            if extra is not None:
                stack.callback(extra.close)
        lab = Lab(target=target, allowed=allowed, target6=target6, rebind_target=rebind)
        lab.dns["internal.example"] = [["10.0.0.8"]]
        lab.dns["localhost"] = [["127.0.0.1"]]
        for module in (socket, urllib3.util.connection):  # httpcore's and urllib3's connect
            stack.enter_context(mock.patch.object(module, "create_connection", _spy(lab, module.create_connection)))
        stack.enter_context(mock.patch.object(outbound_http, "resolve_name", lab.resolve))
        stack.enter_context(override_settings(OUTBOUND_ALLOW=[f"127.0.0.1:{allowed.port}"]))
        yield lab


def run_ssrf_attempts() -> tuple[int, int]:
    """(attempts, reached) over every case: the benchmark's `ssrf_attempts` and `ssrf_reached`."""
    reached = 0
    with ssrf_lab() as lab:
        for attempt in CASES.values():
            reached += attempt(lab).reached
    return len(CASES), reached
