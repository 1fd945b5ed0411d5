"""X posts and direct messages as `InboundEvent`s, from both shapes X sends them in.

- The Account Activity webhook sends v1.1 objects: a tweet has `id_str`, `text` (or `extended_tweet.full_text`
  when longer than 140), `created_at` as `Wed Oct 10 20:19:24 +0000 2018`, `user` (`id_str`, `screen_name`,
  `name`, `followers_count`, `location`), `in_reply_to_status_id_str`; a DM event is `type: message_create`
  with `id`, `created_timestamp` (ms), `message_create.sender_id`, `.target.recipient_id`,
  `.message_data.text`, and the people in the delivery's `users` map.
- Polling (API v2) gets `data[]` tweets (`id`, `text`, `author_id`, `created_at` ISO, `conversation_id`,
  `referenced_tweets` `[{type: replied_to, id}]`, `lang`, `public_metrics`) with the authors in
  `includes.users` (`id`, `username`, `name`, `public_metrics.followers_count`).

External ids are the tweet id (a DM: `dm:<event id>`), so a tweet that arrives both by webhook and by a poll
is one message. A post by the brand's own account is `direction = "out"`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Network
from hubbub.connectors.webhook_items import Item

X = Network.X.value


def x_items(data: dict[str, Any], items: list[Item]) -> None:
    """Append the items of an Account Activity delivery (other event kinds, such as favorites, are skipped)."""
    account = str(data.get("for_user_id") or "")
    if not account:
        raise ValueError("The X delivery has no for_user_id.")
    found = data.get("users")
    users: dict[str, Any] = found if isinstance(found, dict) else {}
    for tweet in _list(data.get("tweet_create_events")):
        items.append(_item(account, tweet, lambda t=tweet: webhook_tweet_event(t, account)))
    for dm in _list(data.get("direct_message_events")):
        items.append(_item(account, dm, lambda d=dm: dm_event(d, account, users)))
    if not items:
        items.append(Item(X, account))  # an account with nothing we read (favorites, follows): still checked


def _item(account: str, raw: Any, build: Any) -> Item:
    try:
        return Item(X, account, event=build(), raw=raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Item(X, account, problem=f"Unreadable X event: {type(exc).__name__} {exc}", raw=raw)


def webhook_tweet_event(tweet: dict[str, Any], account: str) -> InboundEvent:
    user = tweet["user"]
    tweet_id = str(tweet["id_str"])
    text = (tweet.get("extended_tweet") or {}).get("full_text") or tweet.get("full_text") or tweet["text"]
    handle = str(user.get("screen_name") or "")
    author = str(user["id_str"])
    return InboundEvent(
        network=X,
        external_id=tweet_id,
        text=str(text),
        created_at=datetime.strptime(tweet["created_at"], "%a %b %d %H:%M:%S %z %Y").astimezone(UTC),
        author_id=author,
        author_name=str(user.get("name") or handle),
        author_handle=handle,
        author_followers=int(user.get("followers_count") or 0),
        author_location=str(user.get("location") or ""),
        direction="out" if author == account else "in",
        in_reply_to=str(tweet.get("in_reply_to_status_id_str") or ""),
        url=f"https://x.com/{handle or 'i'}/status/{tweet_id}",
        lang=str(tweet.get("lang") or ""),
        retweets=int(tweet.get("retweet_count") or 0),
        likes=int(tweet.get("favorite_count") or 0),
        extra={"tweet_id": tweet_id, "screen_name": handle, "author_id": author},
    )


def dm_event(event: dict[str, Any], account: str, users: dict[str, Any]) -> InboundEvent:
    if event.get("type") != "message_create":
        raise ValueError(f"not a message ({event.get('type')!r})")
    create = event["message_create"]
    sender = str(create["sender_id"])
    recipient = str(create["target"]["recipient_id"])
    person = users.get(sender) or {}
    handle = str(person.get("screen_name") or "")
    return InboundEvent(
        network=X,
        external_id=f"dm:{event['id']}",
        text=str(create["message_data"]["text"]),
        created_at=datetime.fromtimestamp(int(event["created_timestamp"]) / 1000, UTC),
        author_id=sender,
        author_name=str(person.get("name") or handle or sender),
        author_handle=handle,
        author_followers=int(person.get("followers_count") or 0),
        direction="out" if sender == account else "in",
        kind="dm",
        extra={"dm": True, "sender_id": sender, "recipient_id": recipient, "screen_name": handle},
    )


def v2_tweet_event(tweet: dict[str, Any], users: dict[str, dict[str, Any]], account: str) -> InboundEvent:
    """One tweet of a v2 answer (`GET /2/users/:id/mentions`), its author from `includes.users`."""
    author = str(tweet["author_id"])
    user = users.get(author) or {}
    handle = str(user.get("username") or "")
    tweet_id = str(tweet["id"])
    replied = next((r["id"] for r in tweet.get("referenced_tweets") or () if r.get("type") == "replied_to"), "")
    metrics = tweet.get("public_metrics") or {}
    return InboundEvent(
        network=X,
        external_id=tweet_id,
        text=str(tweet["text"]),
        created_at=datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00")).astimezone(UTC),
        author_id=author,
        author_name=str(user.get("name") or handle),
        author_handle=handle,
        author_followers=int((user.get("public_metrics") or {}).get("followers_count") or 0),
        direction="out" if author == account else "in",
        in_reply_to=str(replied),
        url=f"https://x.com/{handle or 'i'}/status/{tweet_id}",
        lang=str(tweet.get("lang") or ""),
        retweets=int(metrics.get("retweet_count") or 0),
        likes=int(metrics.get("like_count") or 0),
        extra={
            "tweet_id": tweet_id,
            "screen_name": handle,
            "author_id": author,
            "conversation_id": str(tweet.get("conversation_id") or ""),
        },
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
