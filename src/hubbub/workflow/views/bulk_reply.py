"""The inbox's bulk reply: one text on the ticked conversations, all or nothing.

It reads the API's input (`workflow.inputs.BulkReplyIn`), shares `BULK_REPLY_LIMIT` and
`services.bulk.bulk_reply` with the API, and re-renders the inbox with the text and the ticks kept when
anything is refused, so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hubbub.connectors.outbound import ReplyTooLong
from hubbub.ids import parse_id
from hubbub.inbox import drafts
from hubbub.inbox.merging import merged_into_many
from hubbub.inbox.models import Conversation, Reply
from hubbub.inbox.views import render_bulk_refused
from hubbub.inputs import InvalidInput, form_input
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role, scoped
from hubbub.web.views.common import scoped_view
from hubbub.workflow.inputs import BulkReplyIn
from hubbub.workflow.services import bulk

BULK_LIMIT = bulk.BULK_REPLY_LIMIT  # the same limit as the API's


@require_POST
@scoped_view
def bulk_reply(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The same reply on the conversations ticked in the inbox list (e.g. one incident, many customers).

    All or nothing, like `POST /api/v1/workflow/bulk-replies`: every ticked conversation is checked first
    (the agent's role, the limit, that each is still there and visible, the text against each network's
    length limit), then `bulk.bulk_reply` creates every reply in one transaction, each through the normal
    path (approval policies hold some; delivery is queued on commit with the reply's idempotency key). If
    anything is refused nothing is created, and the inbox comes back with the text and the ticks as they
    were and the reason beside each conversation concerned (`inbox.views.render_bulk_refused`), so the
    agent fixes it and sends again without a conversation getting the reply twice.
    A ticked conversation merged into another since the list was shown gets no reply (as in the API, where
    it is `not_sent` with `merged_into`): the agent has not seen the merged thread. When the others are
    replied to, its text waits in the survivor's reply box; a survivor that is ticked too gets one reply.
    """
    back = request.POST.get("next") or "/"  # the inbox page to go back to: a link, not an input of the reply
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    text = request.POST.get("text", "")  # as typed: the form shows it again, unchanged, if anything is refused

    def refuse(error: str, ticked: Sequence[Conversation] = (), reasons: dict[int, str] | None = None) -> HttpResponse:
        return render_bulk_refused(request, scope, back, text=text, error=error, ticked=ticked, reasons=reasons or {})

    try:
        require_role(scope, Role.AGENT)
    except PermissionDenied as exc:
        return refuse(f"Nothing was sent: {exc}")
    invalid: InvalidInput | None = None  # the API's input, `BulkReplyIn`: said once the ticks are looked up
    try:
        ids = list(dict.fromkeys(form_input(BulkReplyIn, request.POST).conversation_ids))
    except InvalidInput as exc:
        invalid, ids = exc, _legible_ids(exc.data.get("conversation_ids"))
    if not ids:
        return refuse("Nothing was sent: tick the conversations to reply to first.")
    if len(ids) > BULK_LIMIT:
        return refuse(f"Nothing was sent: at most {BULK_LIMIT} conversations at once, {len(ids)} are ticked.")
    found = {c.pk: c for c in scoped(Conversation.objects.filter(id__in=ids), scope).select_related("brand", "author")}
    ticked = [found[i] for i in ids if i in found]
    merged = merged_into_many(scope, [i for i in ids if i not in found])
    reasons = {i: _merged_reason(merged[i], merged[i] in found) for i in ids if i in merged}
    gone = [i for i in ids if i not in found and i not in merged]
    if gone:
        for i in gone:
            reasons[i] = "not found among your conversations (deleted, or of a brand you no longer see); unticked."
        error = "Nothing was sent: some ticked conversations are no longer there. Send again to reply to the others."
        return refuse(error, ticked, reasons)
    if invalid is not None:
        return refuse(f"Nothing was sent: {invalid}", ticked, reasons)
    try:
        replies = bulk.bulk_reply(scope, ticked, text)
    except bulk.BulkReplyRefused as exc:
        reasons.update(exc.failures)
        n = len(exc.failures)
        return refuse(
            f"Nothing was sent: the reply does not fit {n} of the {len(ticked)} conversations. "
            "Shorten it or untick those, then send again.",
            ticked,
            reasons,
        )
    except (ValueError, ReplyTooLong) as exc:
        return refuse(f"Nothing was sent: {exc}", ticked, reasons)
    _carry_to_survivors(request, merged, set(found), text)
    held = [f"#{r.conversation_id}" for r in replies if r.state == Reply.State.PENDING_APPROVAL]
    if replies:
        said = f", {len(held)} held for approval ({', '.join(held)})." if held else "."
        messages.success(request, f"Replied on {len(replies)} conversations{said}")
    return redirect(back)


def _legible_ids(posted: object) -> list[int]:
    """The ticks of a form refused for its text (or for a tick that is no id): kept, to show them again."""
    values = posted if isinstance(posted, list) else []
    return list(dict.fromkeys(i for i in map(parse_id, values) if i is not None))


def _merged_reason(survivor_id: int, survivor_ticked: bool) -> str:
    if survivor_ticked:
        return f"merged into #{survivor_id}, which is ticked too: that one gets the reply, once."
    return (
        f"merged into #{survivor_id} since the list was shown: it gets no reply from here; "
        f"open #{survivor_id} to answer."
    )


def _carry_to_survivors(request: HttpRequest, merged: dict[int, int], found: set[int], text: str) -> None:
    """Ticked conversations merged into another since the list was shown got no reply (the agent sees the
    merged thread first, as on the single reply form): the text waits, unsent, in each survivor's reply box
    (`inbox.drafts`), and the agent is told where. A survivor that was ticked too just got the reply. Only
    after the bulk reply was accepted: a refused one keeps its text in the form, and one copy is enough."""
    waiting: dict[int, list[int]] = {}
    for old_id, survivor_id in merged.items():
        if survivor_id not in found:
            waiting.setdefault(survivor_id, []).append(old_id)
    for survivor_id, old_ids in waiting.items():
        draft = drafts.make(old_ids[0], text)
        if draft is None:
            continue
        drafts.keep(request, survivor_id, draft)
        olds = ", ".join(f"#{i}" for i in old_ids) + (" was" if len(old_ids) == 1 else " were")
        messages.warning(
            request,
            f"{olds} merged into #{survivor_id} while you were writing; your reply was not sent there. "
            f"It is waiting in the reply box of #{survivor_id}: review it and send.",
        )
