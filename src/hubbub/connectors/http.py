"""The outbound HTTP client the polling connectors share, one per process.

Why shared: building an `outbound_client()` loads the CA bundle into two TLS contexts, about 100 ms of CPU on
a busy machine, which is more than a whole poll of a feed; polling a thousand sources built a thousand of them
(`benchmarks/channels.py`). An `httpx.Client` is safe to use from several threads, and the address policy is
checked at every connect (the allow-list is read each time), so sharing it changes no rule. Connections to one
host are kept alive between polls, which is what most accounts on one Bluesky PDS want.
"""

from __future__ import annotations

import functools

import httpx

from hubbub.outbound_http import outbound_client


@functools.cache
def shared_client() -> httpx.Client:
    return outbound_client()
