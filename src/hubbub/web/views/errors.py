"""Error pages that say what happened and what to try."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
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


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
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


def server_error(request: HttpRequest) -> HttpResponse:
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
