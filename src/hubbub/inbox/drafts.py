"""Reply and note drafts carried over to the conversation that absorbed the one they were written in.

An agent writes a reply in conversation A; before they send it, A is merged into C (`inbox.merging`:
a parent message arrived late). The reply posted to A is *not* sent: the agent has to see the merged
thread first. But the text is not thrown away either: it is kept here, keyed by the survivor C, and
pre-filled once in C's reply box with a notice, so the agent reviews the merged thread and sends.
An internal note posted to A is handled the same way (kind "note": C's note box). A reply draft and a
note draft for the same survivor are kept apart; neither replaces the other.

The draft travels in the user's session (server-side rows), not in a query parameter: the text stays
out of URLs, browser history, proxy logs and Referer headers, and nobody can plant a draft in someone
else's reply box with a crafted link. The template renders it autoescaped (never `|safe`). Bounded:
`DRAFT_MAX_CHARS` per draft (longer than any network's reply limit) and `MAX_DRAFTS` per session, the
oldest dropped first.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from django.http import HttpRequest

SESSION_KEY = "merged_reply_drafts"
DRAFT_MAX_CHARS = 20_000
MAX_DRAFTS = 10  # per session, replies and notes together

Kind = Literal["reply", "note"]
KINDS: tuple[Kind, ...] = ("reply", "note")
# what the notice says of each kind: the thing, what did not happen to it, what to do now
_WORDS: dict[Kind, tuple[str, str, str]] = {
    "reply": ("reply", "sent", "send"),
    "note": ("note", "added", "add it"),
}


class Draft(TypedDict):
    text: str
    merged_from: int  # the absorbed conversation the reply was written in
    clipped: bool  # cut to DRAFT_MAX_CHARS


def notice(survivor_id: int, kind: Kind = "reply") -> str:
    """What the agent reads beside the carried-over draft."""
    thing, undone, todo = _WORDS[kind]
    return (
        f"This conversation was merged into #{survivor_id} while you were writing; your {thing} was not {undone}. "
        f"Review it below and {todo}."
    )


def _key(survivor_id: int, kind: Kind) -> str:
    """Session key of a draft: reply drafts keep the bare id they always had (drafts held across an upgrade
    are still found), notes get their own key, so the two never overwrite each other."""
    return str(survivor_id) if kind == "reply" else f"{kind}:{survivor_id}"


def make(absorbed_id: int, text: str) -> Draft | None:
    """The draft of a reply or note posted to `absorbed_id`, within the size limit; None for an empty one."""
    text = (text or "").strip()
    if not text:
        return None
    return {"text": text[:DRAFT_MAX_CHARS], "merged_from": absorbed_id, "clipped": len(text) > DRAFT_MAX_CHARS}


def keep(request: HttpRequest, survivor_id: int, draft: Draft, kind: Kind = "reply") -> None:
    """Hold `draft` for the survivor's reply (or note) box until it is next shown. A second draft of the same
    kind for the same survivor (two tabs) is appended to the first, never put in its place."""
    drafts: dict[str, Draft] = dict(request.session.get(SESSION_KEY) or {})
    key = _key(survivor_id, kind)
    earlier = drafts.pop(key, None)
    if earlier is not None and earlier["text"] != draft["text"]:
        text = f"{earlier['text']}\n\n{draft['text']}"
        draft = {
            "text": text[:DRAFT_MAX_CHARS],
            "merged_from": draft["merged_from"],
            "clipped": earlier["clipped"] or draft["clipped"] or len(text) > DRAFT_MAX_CHARS,
        }
    drafts[key] = draft
    while len(drafts) > MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    request.session[SESSION_KEY] = drafts


def take(request: HttpRequest, conversation_id: int) -> dict[Kind, Draft]:
    """The drafts held for this conversation's reply and note boxes, by kind, removed from the session
    (shown once)."""
    drafts = request.session.get(SESSION_KEY)
    if not drafts:
        return {}
    rest = dict(drafts)
    taken: dict[Kind, Draft] = {}
    for kind in KINDS:
        draft = rest.pop(_key(conversation_id, kind), None)
        if draft is not None:
            taken[kind] = draft
    if not taken:
        return {}
    if rest:
        request.session[SESSION_KEY] = rest
    else:
        del request.session[SESSION_KEY]
    return taken
