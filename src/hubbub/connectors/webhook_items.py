"""What one webhook delivery reported, item by item (shared by the X and Meta readers and the intake view)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hubbub.connectors.events import InboundEvent


@dataclass
class Item:
    """One thing a delivery reported for one account: an event, or why it could not be read (`problem`)."""

    network: str  # the channel's network: x, facebook, instagram, threads
    account_id: str
    event: InboundEvent | None = None
    problem: str = ""
    raw: Any = None
