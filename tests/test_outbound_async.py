"""The asynchronous outbound client keeps the same policy as the synchronous one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from hubbub import outbound_http
from hubbub.outbound_async import async_outbound_client
from hubbub.outbound_http import OutboundError, OutboundRefused, OutboundTooLarge
from tests.security.servers import CountingServer


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with CountingServer() as s:
        yield s


def fetch(url: str, **client_kw: Any) -> str:
    """GET `url` in a fresh event loop; the body, or the user-safe message of the refusal."""

    async def go() -> str:
        async with async_outbound_client(**client_kw) as client:
            return (await client.get(url)).text

    try:
        return asyncio.run(go())
    except OutboundError as exc:
        return f"{type(exc).__name__}: {exc}"


LOOPBACK_REFUSED = "OutboundRefused: this address is not allowed: loopback address"


def test_loopback_is_refused_until_the_operator_allows_it(server, settings) -> None:  # type: ignore[no-untyped-def]
    assert fetch(server.url()) == LOOPBACK_REFUSED
    assert fetch(f"http://2130706433:{server.port}/") == LOOPBACK_REFUSED
    assert server.hits == 0
    settings.OUTBOUND_ALLOW = [server.hostport]
    assert fetch(server.url()) == "xx"
    assert server.hits == 1


def test_the_connection_goes_to_the_checked_address(monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    with CountingServer("127.0.0.1") as good, CountingServer("127.0.0.2") as evil:
        answers = iter([["127.0.0.1"], ["127.0.0.2"]])
        monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: next(answers))
        settings.OUTBOUND_ALLOW = [good.hostport]
        assert fetch(f"http://rebind.test:{good.port}/ok") == "xx"
        assert fetch(f"http://rebind.test:{evil.port}/ok").startswith("OutboundRefused")
        assert good.hosts == [f"rebind.test:{good.port}"] and evil.hits == 0


def test_redirect_hops_and_body_size_are_checked(server, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW = [server.hostport]
    with CountingServer() as internal:
        redirected = fetch(server.url(f"/redirect?to={internal.url('/admin')}"))
        assert redirected == LOOPBACK_REFUSED
        assert internal.hits == 0
    too_large = fetch(server.url("/drip?n=300000"), max_bytes=100_000)
    assert too_large == f"{OutboundTooLarge.__name__}: failed: response larger than 100000 bytes"


def test_the_async_client_refuses_a_transport_that_skips_the_policy() -> None:
    with pytest.raises(TypeError, match="bypass"):
        async_outbound_client(proxy="http://127.0.0.1:3128")


def test_unknown_schemes_are_refused() -> None:
    assert (
        fetch("file:///etc/passwd")
        == f"{OutboundRefused.__name__}: this address is not allowed: only http and https addresses"
    )
