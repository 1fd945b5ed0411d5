"""Helpers for views: the scope of the request, or a redirect to log in / a 403; notices for htmx responses."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase

from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope

_R = TypeVar("_R", bound=HttpResponseBase)

NOTICE_EVENT = "hubbub:notices"  # the client event (HX-Trigger) app.js shows as toasts
NOTICE_MAX_CHARS = 500  # a header is no place for an essay; the notices are one-liners
NOTICE_MAX = 10
# Responses after which the browser loads another page: that page shows the messages, not this response.
_NAVIGATING = ("HX-Redirect", "HX-Refresh", "HX-Location")


def scoped_view(fn: Callable[..., _R]) -> Callable[..., _R | HttpResponseRedirect]:
    """Require login and a membership; turn service PermissionDenied into a 403 page. Notices (Django
    messages) added while answering an htmx request travel in that response (`deliver_notices`)."""

    @wraps(fn)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> _R | HttpResponseRedirect:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        scope: Scope | None = getattr(request, "tenant", None)
        if scope is None:
            raise DjangoPermissionDenied("Your account is not a member of any organisation yet.")
        try:
            response = fn(request, scope, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc)) from exc
        return deliver_notices(request, response)

    return wrapper


def operations_view(refusal: str) -> Callable[[Callable[..., _R]], Callable[..., _R | HttpResponseRedirect]]:
    """For the pages about running Hubbub (ingest health, system): the view gets the organisation ids it may
    show, those of an organisation's admin (their own) or None for a platform superuser (every one); anyone
    else gets a 403 that says `refusal`."""

    def decorate(fn: Callable[..., _R]) -> Callable[..., _R | HttpResponseRedirect]:
        @wraps(fn)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> _R | HttpResponseRedirect:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            scope: Scope | None = getattr(request, "tenant", None)
            if request.user.is_superuser:
                return fn(request, None, *args, **kwargs)
            if scope is not None and scope.can(Role.ADMIN):
                return fn(request, [scope.organization_id], *args, **kwargs)
            raise DjangoPermissionDenied(refusal)

        return wrapper

    return decorate


def add_trigger(response: HttpResponseBase, event: str, detail: object) -> None:
    """Add a client event with `detail` to the response's `HX-Trigger` header, keeping events already named
    there (a plain comma-separated list or a JSON object). JSON with ASCII escapes: customer names are not
    Latin-1, and a newline in them cannot split the header."""
    current = response.headers.get("HX-Trigger", "")
    events: dict[str, object]
    if current.startswith("{"):
        events = json.loads(current)
    else:
        events = {name.strip(): None for name in current.split(",") if name.strip()}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events, ensure_ascii=True)


def deliver_notices(request: HttpRequest, response: _R) -> _R:
    """Hand the pending notices ("Reply to @ana sent.") to the htmx response that answers the action, and
    consume them. A partial response never renders the layout's message area, so without this they stayed
    in the message storage and all appeared, stale, on the next full page load. They travel as the
    `hubbub:notices` event of the `HX-Trigger` header (`{"id", "notices": [{"level", "text"}]}`): app.js
    shows them as toasts, setting the text with textContent (customer text is never HTML), and uses `id` to
    show each batch once. Not for full pages (the layout shows the messages), redirects or responses that
    make the browser load another page (that page shows them), nor when the response already rendered them."""
    htmx = getattr(request, "htmx", None)
    if not htmx or not 200 <= response.status_code < 300 or any(h in response.headers for h in _NAVIGATING):
        return response
    storage = messages.get_messages(request)
    if getattr(storage, "used", False):
        return response
    notices = [
        {"level": m.level_tag or "info", "text": str(m.message)[:NOTICE_MAX_CHARS], "tags": m.extra_tags or ""}
        for m in storage
    ][-NOTICE_MAX:]
    if notices:
        add_trigger(response, NOTICE_EVENT, {"id": uuid.uuid4().hex, "notices": notices})
    return response
