"""Reply drafts carried over to the conversation that absorbed the one they were written in.

An agent writes a reply in conversation A; before they send it, A is merged into C (`inbox.merging`:
a parent message arrived late). The reply posted to A is *not* sent: the agent has to see the merged
thread first. But the text is not thrown away either: it is kept here, keyed by the survivor C, and
pre-filled once in C's reply box with a notice, so the agent reviews the merged thread and sends.

The draft travels in the user's session (server-side rows), not in a query parameter: the text stays
out of URLs, browser history, proxy logs and Referer headers, and nobody can plant a draft in someone
else's reply box with a crafted link. The template renders it autoescaped (never `|safe`). Bounded:
`DRAFT_MAX_CHARS` per draft (longer than any network's reply limit) and `MAX_DRAFTS` per session, the
oldest dropped first.
"""

from __future__ import annotations

from typing import TypedDict

from django.http import HttpRequest

SESSION_KEY = "merged_reply_drafts"
DRAFT_MAX_CHARS = 20_000
MAX_DRAFTS = 10


class Draft(TypedDict):
    text: str
    merged_from: int  # the absorbed conversation the reply was written in
    clipped: bool  # cut to DRAFT_MAX_CHARS


def notice(survivor_id: int) -> str:
    """What the agent reads beside the carried-over draft."""
    return (
        f"This conversation was merged into #{survivor_id} while you were writing; your reply was not sent. "
        "Review it below and send."
    )


def make(absorbed_id: int, text: str) -> Draft | None:
    """The draft of a reply posted to `absorbed_id`, within the size limit; None for an empty reply."""
    text = (text or "").strip()
    if not text:
        return None
    return {"text": text[:DRAFT_MAX_CHARS], "merged_from": absorbed_id, "clipped": len(text) > DRAFT_MAX_CHARS}


def keep(request: HttpRequest, survivor_id: int, draft: Draft) -> None:
    """Hold `draft` for the survivor's reply box until it is next shown. A second draft for the same
    survivor (two tabs) is appended to the first, never put in its place."""
    drafts: dict[str, Draft] = dict(request.session.get(SESSION_KEY) or {})
    earlier = drafts.pop(str(survivor_id), None)
    if earlier is not None and earlier["text"] != draft["text"]:
        text = f"{earlier['text']}\n\n{draft['text']}"
        draft = {
            "text": text[:DRAFT_MAX_CHARS],
            "merged_from": draft["merged_from"],
            "clipped": earlier["clipped"] or draft["clipped"] or len(text) > DRAFT_MAX_CHARS,
        }
    drafts[str(survivor_id)] = draft
    while len(drafts) > MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    request.session[SESSION_KEY] = drafts


def take(request: HttpRequest, conversation_id: int) -> Draft | None:
    """The draft held for this conversation's reply box, removed from the session (shown once)."""
    drafts = request.session.get(SESSION_KEY)
    if not drafts or str(conversation_id) not in drafts:
        return None
    rest = dict(drafts)
    draft: Draft = rest.pop(str(conversation_id))
    if rest:
        request.session[SESSION_KEY] = rest
    else:
        del request.session[SESSION_KEY]
    return draft
