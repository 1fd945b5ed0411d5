"""InboundEvent: the one normalised shape every connector hands to ingest.

Nothing after this point knows a network's wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any


@dataclass(slots=True)
class InboundEvent:
    network: str
    external_id: str
    text: str
    created_at: datetime
    author_id: str
    author_name: str = ""
    author_handle: str = ""
    author_followers: int = 0
    author_location: str = ""
    brand_slug: str = ""
    direction: str = "in"  # "in" from a customer, "out" from the brand's own account
    in_reply_to: str = ""
    url: str = ""
    lang: str = ""
    retweets: int = 0
    likes: int = 0
    kind: str = "mention"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        # A shallow copy is enough (fields are scalars, `extra` is JSON data); asdict() deep-copies and is slow.
        data = dict(zip(_FIELDS, _get_fields(self), strict=True))
        data["created_at"] = self.created_at.isoformat()
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> InboundEvent:
        values = dict(data)
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        return cls(**values)


_FIELDS = tuple(f.name for f in fields(InboundEvent))
_get_fields = attrgetter(*_FIELDS)
