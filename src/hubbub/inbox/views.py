"""The three-pane inbox: list, thread + composer, the panels other apps add beside it (`inbox.panels`).

Server-rendered first (works without JavaScript); htmx swaps panes; SSE keeps them live.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import cast
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from pydantic import Field

from hubbub.connectors.models import MAX_REPLY_CHARS
from hubbub.connectors.outbound import ReplyTooLong
from hubbub.ids import parse_id
from hubbub.inbox import drafts
from hubbub.inbox.actions.conversations import do_add_note, do_assign, do_change_status, do_set_tags
from hubbub.inbox.actions.delivery import do_retry_reply
from hubbub.inbox.actions.replies import MAX_CLIENT_KEY, Origin, ReplyKeyReused, do_create_reply
from hubbub.inbox.inputs import AssignIn, NoteIn, ReplyIn, StatusIn, TagsIn
from hubbub.inbox.merging import merged_into
from hubbub.inbox.models import CannedResponse, Conversation, Direction, Status
from hubbub.inbox.panels import panels_context
from hubbub.inbox.queries import LANGUAGE_CHOICES, InboxFilters, filter_conversations, page
from hubbub.inbox.tasks import enqueue_delivery
from hubbub.inputs import InvalidInput, form_input
from hubbub.tenancy.models import Membership, Team
from hubbub.tenancy.scoping import Scope, get_scoped_or_404
from hubbub.web.views.common import add_trigger, scoped_view

PAGE_SIZE = 50


def _filters(request: HttpRequest, query: QueryDict) -> InboxFilters:
    params = query.copy()
    if "brand" not in params and request.session.get("brand_id"):
        params["brand"] = str(request.session["brand_id"])
    return InboxFilters.from_params(params)


def _list_context(request: HttpRequest, scope: Scope, query: QueryDict | None = None) -> dict[str, object]:
    """The conversation list for the filters in `query` (default: this request's query string)."""
    query = request.GET if query is None else query
    f = _filters(request, query)
    rows, nxt = page(filter_conversations(scope, f), f.sort, query.get("cursor"), PAGE_SIZE)
    for row in rows:
        # The bulk-reply state the list shows (set for real by `render_bulk_refused`). Always present: a
        # template lookup that misses on a model instance calls dir() on it, ~35 µs a row and lookup.
        row.bulk_picked = False  # type: ignore[attr-defined]
        row.bulk_refusal = ""  # type: ignore[attr-defined]
    keep = {k: v for k, v in query.items() if k not in ("cursor", "c") and v}
    return {
        "filters": f,
        "conversations": rows,
        "next_url": f"?{urlencode({**keep, 'cursor': nxt})}" if nxt else None,
        "query_string": urlencode(keep),
        "teams": Team.objects.filter(organization_id=scope.organization_id),
        "languages": LANGUAGE_CHOICES,
        "is_first_page": not query.get("cursor"),
    }


def _thread_context(
    scope: Scope, conv: Conversation, carried: Mapping[drafts.Kind, drafts.Draft] | None = None
) -> dict[str, object]:
    """What the thread pane shows; `carried` pre-fills the reply and note boxes (text carried over from a
    merged conversation, by kind, `inbox.drafts`)."""
    carried = carried or {}
    draft, note_draft = carried.get("reply"), carried.get("note")
    User = get_user_model()
    member_ids = Membership.objects.filter(organization_id=scope.organization_id).values_list("user_id", flat=True)
    author = conv.author
    past = (
        Conversation.objects.filter(organization_id=scope.organization_id, author=author, brand_id__in=scope.brand_ids)
        .exclude(pk=conv.pk)
        .select_related("brand")
        .order_by("-last_message_at")[:10]
    )
    return {
        "conv": conv,
        "thread": list(conv.messages.select_related("author", "sent_by").order_by("created_at", "id")),
        "replies": list(conv.replies.exclude(state__in=["sent"]).select_related("author")),
        "notes": list(conv.notes.select_related("author")),
        "tags": [t.name for t in conv.tags.all()],
        "members": User.objects.filter(id__in=member_ids).order_by("username"),
        "teams": Team.objects.filter(organization_id=scope.organization_id),
        "canned": CannedResponse.objects.filter(organization_id=scope.organization_id),
        "limit": MAX_REPLY_CHARS.get(conv.network),  # type: ignore[call-overload]
        "statuses": Status.choices,
        "author": author,
        "customer": author.customer,
        "past_conversations": past,
        "Direction": Direction,
        "draft": draft,
        "reply_value": draft["text"] if draft else "",  # what the reply (note) box holds when rendered
        "note_value": note_draft["text"] if note_draft else "",
        "draft_notice": drafts.notice(conv.pk) if draft else "",
        "note_draft": note_draft,
        "note_draft_notice": drafts.notice(conv.pk, "note") if note_draft else "",
        # one per rendered composer: posting the same form twice gives one reply (`do_create_reply`)
        "form_token": secrets.token_urlsafe(18),
        **panels_context(scope, conv),
    }


@scoped_view
def inbox(request: HttpRequest, scope: Scope) -> HttpResponse:
    ctx = _list_context(request, scope)
    if request.htmx and request.htmx.target == "conversation-list":  # type: ignore[attr-defined]
        return render(request, "inbox/_list.html", ctx)
    return render(request, "inbox/inbox.html", ctx)


def _inbox_at(request: HttpRequest, scope: Scope, url: str) -> dict[str, object]:
    """The context of the inbox page as the agent had it at `url` (an inbox or conversation URL of this site,
    already checked to be local): its filters and its open conversation."""
    parts = urlsplit(url)
    query = QueryDict(parts.query)
    ctx = _list_context(request, scope, query)
    try:
        match = resolve(parts.path)
    except Resolver404:
        match = None
    if match is not None and match.url_name == "conversation":
        try:
            ctx.update(_thread_context(scope, _get(scope, int(match.kwargs["conversation_id"]))))
        except Http404:  # gone or merged meanwhile: the list alone
            pass
    return ctx


def render_bulk_refused(
    request: HttpRequest,
    scope: Scope,
    back: str,
    *,
    text: str,
    error: str,
    ticked: Sequence[Conversation],
    reasons: Mapping[int, str],
) -> HttpResponse:
    """The inbox page at `back` again after a bulk reply was refused (nothing was created), rendered rather
    than redirected so the text never travels in a URL: the bulk form open with the text as typed
    (autoescaped), `error` above it, each reason (conversation id → why) listed in the form and beside the
    conversation's row, and the `ticked` conversations still ticked, so the agent fixes the text or unticks
    and sends again. Ticked conversations not on the page shown (filtered out meanwhile) are ticked in the
    form itself, where they can be unticked too."""
    ctx = _inbox_at(request, scope, back)
    picked = {c.pk for c in ticked}
    rows = cast(list[Conversation], ctx["conversations"])
    for row in rows:
        row.bulk_picked = row.pk in picked  # type: ignore[attr-defined]
        row.bulk_refusal = reasons.get(row.pk, "")  # type: ignore[attr-defined]
    shown = {row.pk for row in rows}
    labels = {c.pk: f"#{c.pk} {customer_label(c)}" for c in ticked}
    bulk = {
        "text": text,
        "error": error,
        "next": back,
        "count": len(picked),
        "refusals": [{"id": i, "label": labels.get(i, f"#{i}"), "reason": why} for i, why in reasons.items()],
        "offpage": [c for c in ticked if c.pk not in shown],
        "list_url": "/?" + str(ctx["query_string"]) if ctx["query_string"] else "/",
    }
    return render(request, "inbox/inbox.html", {**ctx, "bulk": bulk})


class _Merged(Exception):
    """The conversation asked for was merged into `survivor_id`, which the user may see. `acted`: only found
    when showing the result of an action that was carried out (the merge came in between)."""

    def __init__(self, survivor_id: int, acted: bool = False) -> None:
        super().__init__(survivor_id)
        self.survivor_id = survivor_id
        self.acted = acted


def customer_label(conv: Conversation) -> str:
    """How notices name a conversation: by its customer's handle, as the thread pane's heading does."""
    return f"@{conv.author.handle}"


def _get(scope: Scope, conversation_id: int) -> Conversation:
    return get_scoped_or_404(
        Conversation.objects.select_related("brand", "author", "author__customer", "assignee", "team"),
        scope,
        id=conversation_id,
    )


def _load(scope: Scope, conversation_id: int) -> Conversation:
    try:
        return _get(scope, conversation_id)
    except Http404:
        survivor_id = merged_into(scope, conversation_id)
        if survivor_id is None:
            raise
        raise _Merged(survivor_id) from None


_View = Callable[..., HttpResponse]


def _follow_merges(*, carries: drafts.Kind | None = None) -> Callable[[_View], _View]:
    """A conversation merged into another (`inbox.merging`) leads to the survivor, with a notice: a redirect
    (302), or for a pane loaded by htmx the survivor's thread and its URL pushed into the history. An action
    (reply, status, …) posted to the merged id is not applied: the agent sees the merged thread first.
    With `carries` (the reply form: "reply", the note form: "note") the posted text is not lost either: it is
    pre-filled in the survivor's reply (note) box, still unsent, with a notice (`inbox.drafts`; through the
    session for a redirect). The pane rendered for htmx names the absorbed id (`data-merged-from`), so the
    browser also carries over what the other boxes held.
    Ids that were never merged, or whose survivor is out of scope, stay a plain 404."""

    def decorate(view: _View) -> _View:
        @wraps(view)
        def wrapper(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
            try:
                return view(request, scope, conversation_id)
            except _Merged as merged:
                survivor_id, acted = merged.survivor_id, merged.acted
            draft = None
            if carries and request.method == "POST" and not acted:  # a reply/note made is never offered again
                draft = drafts.make(conversation_id, request.POST.get("text", ""))
            text = f"This conversation was merged into #{survivor_id}."
            if request.method == "POST" and not acted:
                text += " Nothing was changed: check the merged conversation and try again."
            url = reverse("conversation", args=[survivor_id])
            if request.GET:
                url += f"?{request.GET.urlencode()}"
            htmx = request.htmx  # type: ignore[attr-defined]
            if htmx and (request.method == "POST" or htmx.target == "thread-pane"):
                ctx = _thread_context(scope, _get(scope, survivor_id), {carries: draft} if carries and draft else None)
                response = render(request, "inbox/_thread.html", {**ctx, "merged_from": conversation_id})
                if draft is None:  # a carried draft has its notice beside its reply (note) box
                    notice = format_html('<div class="flash" role="status"><p class="info">{}</p></div>', text)
                    response.content = notice.encode() + response.content
                response["HX-Push-Url"] = url
                if request.method == "POST" and not acted:
                    # not applied: should the agent have moved to another conversation meanwhile, app.js keeps
                    # the text as #conversation_id's unsent draft (it follows into the survivor's box when that
                    # pane is shown, data-merged-from) and says why, instead of swapping this pane in
                    said = f"your {carries} was not {'sent' if carries == 'reply' else 'added'}" if carries else ""
                    add_trigger(
                        response,
                        "hubbub:refused",
                        {
                            "box": carries,
                            "text": f"#{conversation_id} was merged into #{survivor_id}; "
                            + (f"{said}. It waits in its box." if said else "nothing was changed."),
                        },
                    )
                return response
            if carries and draft is not None:
                drafts.keep(request, survivor_id, draft, carries)
            else:
                messages.info(request, text)
            return redirect(url)

        return wrapper

    return decorate


@scoped_view
@_follow_merges()
def conversation(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    conv = _load(scope, conversation_id)
    ctx = _thread_context(scope, conv, drafts.take(request, conv.pk))
    if request.htmx and request.htmx.target == "thread-pane":  # type: ignore[attr-defined]
        return render(request, "inbox/_thread.html", ctx)
    return render(request, "inbox/inbox.html", {**_list_context(request, scope), **ctx})


def _refused(
    request: HttpRequest, scope: Scope, conv: Conversation, box: drafts.Kind, text: str, error: str
) -> HttpResponse:
    """The pane again after a reply (note) was refused (too long for the network, empty, …): nothing was
    created, so nothing is lost either. The submitted text stays in its box exactly as typed (autoescaped by
    the template), the reason beside it, the counter showing its length; the other boxes come back as the
    browser held them (`app.js`). Rendered, not redirected, so the text never has to travel in a URL."""
    ctx = {**_thread_context(scope, conv), f"{box}_value": text, f"{box}_error": error}
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "inbox/_thread.html", ctx)
        # The pane shows the reason beside the box. If the agent has moved on to another conversation
        # before this answer came, app.js does not swap it in (`hubbub:refused`): it keeps the text as the
        # conversation's unsent draft and says so in a notice instead.
        what = "reply to" if box == "reply" else "note on"
        undone = "sent" if box == "reply" else "added"
        add_trigger(
            response,
            "hubbub:refused",
            {"box": box, "text": f"Your {what} {customer_label(conv)} was not {undone}: {error} It waits in its box."},
        )
        return response
    return render(request, "inbox/inbox.html", {**_list_context(request, scope), **ctx})


def after_action(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    """The answer to an action on a conversation (reply, status, a label corrected, …): for htmx the
    thread pane re-rendered with a `conversation-changed` event (the list refreshes), else a redirect to
    the conversation. Public: the views of other apps that act on a conversation answer with it too."""
    if request.htmx:  # type: ignore[attr-defined]
        try:
            conv = _load(scope, conversation_id)
        except _Merged as merged:  # merged since the action was applied
            raise _Merged(merged.survivor_id, acted=True) from None
        response = render(request, "inbox/_thread.html", _thread_context(scope, conv))
        add_trigger(response, "conversation-changed", None)
        return response
    return redirect("conversation", conversation_id=conversation_id)


class ReplyForm(ReplyIn):
    """The composer: the API's reply body and the form's one-time token (the API has its Idempotency-Key)."""

    form_token: str = Field("", max_length=MAX_CLIENT_KEY - len("form:"))


@require_POST
@scoped_view
@_follow_merges(carries="reply")
def reply(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    conv = _load(scope, conversation_id)
    typed = request.POST.get("text", "")  # shown again, exactly as typed, if the reply is refused
    try:
        form = form_input(ReplyForm, request.POST)
        # the composer's one-time token: a form posted twice (double click, a resent request) is one reply
        key = f"form:{form.form_token}" if form.form_token else ""
        r = do_create_reply(scope, conv, form.text, Origin.AGENT, client_key=key)
    except ReplyKeyReused:  # an old page's form (Back, then edited) sent again: its token already has a reply
        why = "This reply form was already used for another reply, so this text was not sent. Send it again."
        return _refused(request, scope, conv, "reply", typed, why)
    except (ValueError, ReplyTooLong) as exc:  # InvalidInput included: the field's message beside the box
        return _refused(request, scope, conv, "reply", typed, str(exc))
    # Named by customer: the agent may be in another conversation by the time this notice shows (app.js)
    held = r.state == r.State.PENDING_APPROVAL
    messages.success(request, f"Reply to {customer_label(conv)} {'sent for approval' if held else 'sent'}.")
    return after_action(request, scope, conversation_id)


@require_POST
@scoped_view
@_follow_merges()
def status(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    conv = _load(scope, conversation_id)
    try:
        do_change_status(scope, conv, form_input(StatusIn, request.POST).status)
        messages.success(request, f"Marked {conv.get_status_display().lower()}.")
    except ValueError as exc:  # InvalidInput: an unknown status, said as the API says it
        messages.error(request, str(exc))
    return after_action(request, scope, conversation_id)


@require_POST
@scoped_view
def retry_reply(request: HttpRequest, scope: Scope, conversation_id: int, reply_id: int) -> HttpResponse:
    """The agent sends a failed reply again, from the failure shown beside it in the thread."""
    conv = _load(scope, conversation_id)
    pk = parse_id(reply_id)  # the URL takes any digits; the database does not
    reply = conv.replies.filter(pk=pk).first() if pk is not None else None
    if reply is None:
        raise Http404("No such reply on this conversation")
    try:
        do_retry_reply(scope, reply, enqueue_delivery)
        messages.success(request, "Sending the reply again.")
    except ValueError as exc:  # not failed (any more): someone retried it already
        messages.error(request, str(exc))
    return after_action(request, scope, conversation_id)


@require_POST
@scoped_view
@_follow_merges()
def assign(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    """Assign to the member and team chosen (the "Me" button posts the agent's own id; empty unassigns)."""
    conv = _load(scope, conversation_id)
    try:
        form = form_input(AssignIn, request.POST)
    except InvalidInput as exc:  # not an id: nothing changes, and the agent is told why
        messages.error(request, f"Assignment not saved: {exc}")
        return after_action(request, scope, conversation_id)
    do_assign(scope, conv, form.assignee_id, form.team_id)
    messages.success(request, "Assignment saved.")
    return after_action(request, scope, conversation_id)


@require_POST
@scoped_view
@_follow_merges(carries="note")
def note(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    conv = _load(scope, conversation_id)
    typed = request.POST.get("text", "")  # shown again, exactly as typed, if the note is refused
    try:
        do_add_note(scope, conv, form_input(NoteIn, request.POST).text)
    except ValueError as exc:  # InvalidInput: empty or too long, beside the box
        return _refused(request, scope, conv, "note", typed, str(exc))
    return after_action(request, scope, conversation_id)


@require_POST
@scoped_view
@_follow_merges()
def tags(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    conv = _load(scope, conversation_id)
    do_set_tags(scope, conv, form_input(TagsIn, request.POST).tags)
    return after_action(request, scope, conversation_id)
