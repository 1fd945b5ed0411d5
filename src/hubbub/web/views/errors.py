"""Error pages that say what happened and what to try.

An htmx request (a button in the thread pane) gets the reason alone, as plain text: htmx does not swap an
error answer in, and app.js (`htmx:responseError`) shows that text as a toast where the user acted, instead
of the page saying nothing while the typed text just sits there. While the database is away (a PostgreSQL
restart) every page and action answers 503 with Retry-After and says so, instead of "something broke"."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

REASON_MAX_CHARS = 300  # one line in a toast


def _for_htmx(request: HttpRequest, status: int, reason: str) -> HttpResponse | None:
    if not getattr(request, "htmx", False):
        return None
    return HttpResponse(reason[:REASON_MAX_CHARS], status=status, content_type="text/plain; charset=utf-8")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    short = _for_htmx(request, 404, "Not found: it does not exist (any more), or it belongs to a brand you cannot see.")
    if short is not None:
        return short
    return render(
        request,
        "web/error.html",
        {
            "code": 404,
            "title": "Not found",
            "message": "This page or conversation does not exist, or it belongs to a brand you cannot see.",
            "hint": "Go back to the inbox, or ask an admin to give you access to the brand.",
        },
        status=404,
    )


def _bad_request_reason(exception: Exception | None) -> tuple[int, str]:
    if isinstance(exception, RequestDataTooBig):
        limit_mb = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) / (1024 * 1024)
        return 413, (
            f"The request body is larger than this server accepts ({limit_mb:.1f} MB). Send fewer items at "
            "once, or upload a file through the import page."
        )
    if isinstance(exception, TooManyFieldsSent):
        return 400, f"The form sent more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields. Send fewer at once."
    return 400, "The request could not be read. Reload the page and try again."


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django refused the request before any view ran (a body over the upload limit, too many fields). The API
    answers as the API does (JSON `detail`), so a client reads why instead of an HTML page."""
    status, reason = _bad_request_reason(exception)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": reason}, status=status)
    short = _for_htmx(request, status, reason)
    if short is not None:
        return short
    title = "Too large" if status == 413 else "Bad request"
    context = {"code": status, "title": title, "message": reason, "hint": "Go back and try again."}
    return render(request, "web/error.html", context, status=status)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = str(exception) if exception and str(exception) else "Your role does not allow this action."
    short = _for_htmx(request, 403, f"Not allowed: {reason}")
    if short is not None:
        return short
    return render(
        request,
        "web/error.html",
        {
            "code": 403,
            "title": "Not allowed",
            "message": str(exception) if exception else "Your role does not allow this action.",
            "hint": "A supervisor or admin can do it, or change your role in Settings.",
        },
        status=403,
    )


DATABASE_AWAY_MESSAGE = (
    "Hubbub cannot reach its database right now (a restart or a fail-over). Try again in a few seconds."
)
#: What a page says while the database is away: standalone, since the layout itself reads the database.
DATABASE_AWAY_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Database unreachable · Hubbub</title>'
    '<meta http-equiv="refresh" content="10"></head><body><main><h1>503 · Database unreachable</h1>'
    f"<p>{DATABASE_AWAY_MESSAGE}</p><p>What you saved before is kept. This page reloads every 10 seconds.</p>"
    "</main></body></html>"
)


def _database_away() -> bool:
    """The error being handled is the database going away (handler500 runs inside Django's except block)."""
    return isinstance(sys.exc_info()[1], OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    if _database_away():
        short = _for_htmx(request, 503, DATABASE_AWAY_MESSAGE)
        answer = short or HttpResponse(DATABASE_AWAY_PAGE, status=503, content_type="text/html; charset=utf-8")
        answer["Retry-After"] = "5"
        return answer
    short = _for_htmx(request, 500, "Something broke on our side; the error was logged. Try again in a moment.")
    if short is not None:
        return short
    return render(
        request,
        "web/error.html",
        {
            "code": 500,
            "title": "Something broke on our side",
            "message": "The error was logged. Nothing you sent was lost.",
            "hint": "Try again in a moment; if it keeps happening, tell your admin the time it happened.",
        },
        status=500,
    )
