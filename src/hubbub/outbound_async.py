"""The asynchronous outbound client: `outbound_http`'s policy for code that runs in an event loop.

Same rules as `outbound_http.outbound_client()` (see its module docstring): the name is resolved and every
answer checked (`checked_addresses`, in a worker thread so the loop keeps serving), the TCP connect goes to the
checked address through this module's network backend, every redirect hop passes the same transport, and the
body is read against the same budget. Failures are the same `OutboundError` family.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import httpcore
import httpx

from hubbub.outbound_http import (
    BodyBudget,
    OutboundTooLarge,
    build_client,
    check_url,
    checked_addresses,
    default_ssl_context,
    redirect_limit,
    refused_url,
    transport_errors,
    with_stream,
)


class _PinnedAsyncBackend(httpcore.AnyIOBackend):
    """Resolves and checks the host (off the loop), then connects to an address it checked."""

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        addresses = await anyio.to_thread.run_sync(checked_addresses, host, port)
        error: Exception | None = None
        for ip in addresses:
            try:
                return await super().connect_tcp(str(ip), port, *args, **kwargs)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error


class _AsyncLimitedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, budget: BodyBudget) -> None:
        self._stream, self._budget = stream, budget

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with transport_errors():
            async for chunk in self._stream:
                yield self._budget.take(chunk)

    async def aclose(self) -> None:
        await self._stream.aclose()


class _AsyncPolicyTransport(httpx.AsyncHTTPTransport):
    def __init__(self, max_bytes: int, deadline_seconds: float, verify: bool | ssl.SSLContext = True) -> None:
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else default_ssl_context(verify)
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(ssl_context=ssl_context, network_backend=_PinnedAsyncBackend())
        self._max_bytes, self._deadline_seconds = max_bytes, deadline_seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url)
        with transport_errors():
            response = await super().handle_async_request(request)
        budget = BodyBudget(self._max_bytes, self._deadline_seconds)
        try:
            budget.check_declared(response.headers)
        except OutboundTooLarge:
            await response.aclose()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return with_stream(response, _AsyncLimitedStream(response.stream, budget))


class AsyncOutboundClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` whose unparseable URLs and redirect limit also raise an `OutboundError`."""

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        with refused_url(url):
            return super().build_request(method, url, **kwargs)

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        with redirect_limit():
            return await super().send(request, **kwargs)


def async_outbound_client(**kwargs: Any) -> httpx.AsyncClient:
    """`outbound_http.outbound_client()` for an event loop: the same arguments and the same refusals."""
    client: httpx.AsyncClient = build_client(AsyncOutboundClient, _AsyncPolicyTransport, **kwargs)
    return client


__all__ = ["AsyncOutboundClient", "async_outbound_client"]
