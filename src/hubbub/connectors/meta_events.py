"""Meta webhook notifications (Facebook Pages, Instagram, Threads) as `InboundEvent`s.

Field names are the Graph API webhook references':
- Page `feed` change: `value.item` = `comment`, `verb` = `add`, `comment_id`, `post_id`, `parent_id`, `from`
  (`id`, `name`), `message`, `created_time` (epoch seconds). Other items and verbs (likes, reactions, edits,
  removals, the page's own posts) are not conversations and are skipped.
- Instagram `comments`: `value.id`, `text`, `from` (`id`, `username`), `media.id`, `parent_id` (a reply);
  `mentions`: only `media_id` and `comment_id` (the text is not in the notification).
- `messaging[]` (Messenger and Instagram direct): `sender.id`, `recipient.id`, `timestamp` (ms),
  `message.mid`, `message.text`, `message.is_echo` (the page's own message); receipts have no `message`.
- Threads: `target_id` + `values` {`field`: replies|mentions, `value`: {`id`, `username`, `text`,
  `timestamp`, `permalink`, `replied_to.id`, `root_post`}}, or the batched `object: threads` +
  `entry[].changes[]` with the same `value`.

The account is the entry's `id` (page id, Instagram user id, Threads user id) or Threads' `target_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Network
from hubbub.connectors.webhook_items import Item

NETWORK_OF_OBJECT = {
    "page": Network.FACEBOOK.value,
    "instagram": Network.INSTAGRAM.value,
    "threads": Network.THREADS.value,
}
_READ_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


def meta_items(data: dict[str, Any], items: list[Item]) -> int:
    """Append the delivery's items; returns how many well-formed notifications were skipped."""
    if "values" in data and "target_id" in data:  # Threads, one notification per delivery
        return _threads_change(str(data["target_id"]), data["values"], data, items)
    network = NETWORK_OF_OBJECT.get(str(data.get("object")))
    entries = data.get("entry")
    if network is None or not isinstance(entries, list):
        raise ValueError(f"Not a Meta webhook delivery (object {data.get('object')!r}, entry list expected).")
    skipped = 0
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("id"):
            raise ValueError("A Meta delivery entry has no id.")
        account = str(entry["id"])
        before = len(items)
        for change in entry.get("changes") or ():
            if network == "threads":
                skipped += _threads_change(account, change, change, items)
            else:
                skipped += _change(network, account, change, items)
        for message in entry.get("messaging") or ():
            skipped += _attempt(items, network, account, message, _message_builder(network, account, message))
        if len(items) == before:
            items.append(Item(network, account))  # nothing we read, but the account is still checked
    return skipped


def _attempt(items: list[Item], network: str, account: str, raw: Any, build: Callable[[], Any]) -> int:
    """Append the event `build` makes (1 if it makes None: a notification that is not a conversation), or the
    reason it could not be read."""
    try:
        event = build()
    except _READ_ERRORS as exc:
        items.append(
            Item(network, account, problem=f"Unreadable {network} notification: {type(exc).__name__} {exc}", raw=raw)
        )
        return 0
    if event is None:
        return 1
    items.append(Item(network, account, event=event, raw=raw))
    return 0


def _message_builder(network: str, account: str, message: Any) -> Callable[[], InboundEvent | None]:
    return lambda: _message(network, account, message)


def _change(network: str, account: str, change: dict[str, Any], items: list[Item]) -> int:
    field = change.get("field") if isinstance(change, dict) else None
    value = change.get("value") if isinstance(change, dict) else None
    if not isinstance(value, dict):
        items.append(Item(network, account, problem=f"A {network} change without a value ({field!r}).", raw=change))
        return 0
    if network == Network.FACEBOOK.value and field == "feed":
        return _attempt(items, network, account, change, lambda: _page_comment(account, value))
    if network == Network.INSTAGRAM.value and field in ("comments", "live_comments"):
        return _attempt(items, network, account, change, lambda: _ig_comment(account, value))
    if network == Network.INSTAGRAM.value and field == "mentions":
        return _attempt(items, network, account, change, lambda: _ig_mention(value))
    return 1


def _page_comment(page: str, value: dict[str, Any]) -> InboundEvent | None:
    if value.get("item") != "comment" or value.get("verb") != "add":
        return None
    author = value["from"]
    parent = str(value.get("parent_id") or value["post_id"])
    return InboundEvent(
        network=Network.FACEBOOK.value,
        external_id=str(value["comment_id"]),
        text=str(value["message"]),
        created_at=datetime.fromtimestamp(int(value["created_time"]), UTC),
        author_id=str(author["id"]),
        author_name=str(author.get("name") or ""),
        direction="out" if str(author["id"]) == page else "in",
        in_reply_to=parent,
        kind="comment",
        extra={"comment_id": str(value["comment_id"]), "post_id": str(value["post_id"]), "parent_id": parent},
    )


def _ig_comment(account: str, value: dict[str, Any]) -> InboundEvent:
    author = value["from"]
    media = str((value.get("media") or {}).get("id") or "")
    parent = str(value.get("parent_id") or media)
    username = str(author.get("username") or "")
    return InboundEvent(
        network=Network.INSTAGRAM.value,
        external_id=str(value["id"]),
        text=str(value["text"]),
        created_at=_when(value.get("timestamp")),
        author_id=str(author["id"]),
        author_name=username,
        author_handle=username,
        direction="out" if str(author["id"]) == account else "in",
        in_reply_to=parent,
        kind="comment",
        extra={"comment_id": str(value["id"]), "media_id": media, "parent_id": parent, "username": username},
    )


def _ig_mention(value: dict[str, Any]) -> InboundEvent:
    """A mention in someone's comment: the notification names the comment only; the text says so, and the
    comment's own text is for the pipeline to fetch (`extra.fetch_text`)."""
    comment = str(value["comment_id"])
    return InboundEvent(
        network=Network.INSTAGRAM.value,
        external_id=comment,
        text="(Mentioned the brand in an Instagram comment; the notification carries no text.)",
        created_at=datetime.now(UTC),
        author_id=f"ig-comment:{comment}",
        in_reply_to=str(value["media_id"]),
        extra={"comment_id": comment, "media_id": str(value["media_id"]), "fetch_text": True},
    )


def _message(network: str, account: str, message: dict[str, Any]) -> InboundEvent | None:
    body = message.get("message")
    if body is None:
        return None  # delivery and read receipts, reactions, postbacks
    sender, recipient = str(message["sender"]["id"]), str(message["recipient"]["id"])
    text = body.get("text")
    if text is None:
        kinds = sorted({str(a.get("type")) for a in body.get("attachments") or () if isinstance(a, dict)})
        text = f"(Sent {', '.join(kinds) or 'an attachment'}.)"
    own = bool(body.get("is_echo")) or sender == account
    return InboundEvent(
        network=network,
        external_id=str(body["mid"]),
        text=str(text),
        created_at=datetime.fromtimestamp(int(message["timestamp"]) / 1000, UTC),
        author_id=sender,
        direction="out" if own else "in",
        kind="dm",
        extra={"mid": str(body["mid"]), "sender_id": sender, "recipient_id": recipient, "messaging": True},
    )


def _threads_change(account: str, change: Any, raw: Any, items: list[Item]) -> int:
    field = change.get("field") if isinstance(change, dict) else None
    value = change.get("value") if isinstance(change, dict) else None
    if field not in ("replies", "mentions"):
        if isinstance(value, dict):
            items.append(Item("threads", account))
            return 1
        raise ValueError(f"Not a Threads notification (field {field!r}).")
    post: dict[str, Any] = value if isinstance(value, dict) else {}  # an empty one is quarantined as unreadable
    return _attempt(items, "threads", account, raw, lambda: _threads_post(str(field), post))


def _threads_post(field: str, value: dict[str, Any]) -> InboundEvent:
    username = str(value["username"])
    root = value.get("root_post") or {}
    parent = str((value.get("replied_to") or {}).get("id") or "")
    return InboundEvent(
        network=Network.THREADS.value,
        external_id=str(value["id"]),
        text=str(value["text"]),
        created_at=_when(value["timestamp"]),
        author_id=username,  # Threads' notifications name the author by username only
        author_name=username,
        author_handle=username,
        in_reply_to=parent,
        url=str(value.get("permalink") or ""),
        kind="mention" if field == "mentions" else "comment",
        extra={
            "media_id": str(value["id"]),
            "replied_to": parent,
            "root_id": str(root.get("id") or ""),
            "username": username,
        },
    )


def _when(value: Any) -> datetime:
    """Meta's ISO times are `2024-08-07T10:33:16+0000` (no colon in the offset); a missing one is now."""
    if not value:
        return datetime.now(UTC)
    return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
