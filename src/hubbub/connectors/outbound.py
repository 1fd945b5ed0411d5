"""The outbound path: length checks per network and delivery to the network (or the local sink).

With no live network credentials a reply is written to `OUTBOUND_SINK_DIR` as one
JSON file named by its idempotency key: sending the same reply twice finds the
file and returns the same id, which is exactly what a network's idempotency key does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from hubbub.connectors.models import MAX_REPLY_CHARS


class ReplyTooLong(ValueError):
    pass


def check_length(network: str, text: str) -> None:
    limit = MAX_REPLY_CHARS.get(network)  # type: ignore[call-overload]
    if limit is not None and len(text) > limit:
        raise ReplyTooLong(f"Too long for {network}: {len(text)} characters, the limit is {limit}.")


def send_reply(reply) -> str:  # type: ignore[no-untyped-def]
    """Deliver a reply; return the network's id for the posted message."""
    sink = Path(settings.OUTBOUND_SINK_DIR)
    sink.mkdir(parents=True, exist_ok=True)
    path = sink / f"{reply.idempotency_key}.json"
    if path.exists():
        return str(json.loads(path.read_text())["id"])
    external_id = "out-" + hashlib.sha1(str(reply.idempotency_key).encode()).hexdigest()[:16]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {
                "id": external_id,
                "network": reply.conversation.network,
                "brand": reply.brand.slug,
                "conversation": reply.conversation_id,
                "text": reply.text,
                "sent_at": timezone.now().isoformat(),
            }
        )
    )
    tmp.replace(path)
    return external_id
