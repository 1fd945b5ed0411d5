"""Putting a test double in the connector registry for one test, and taking it out again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hubbub.connectors import base


@contextmanager
def registered(connector: Any) -> Iterator[Any]:
    """Register `connector` for its network while the block runs; the previous one (if any) comes back."""
    before = base.connector_for(connector.network)
    base.register(connector)
    try:
        yield connector
    finally:
        if before is not None:
            base.register(before)
        else:
            base._REGISTRY.pop(connector.network, None)
