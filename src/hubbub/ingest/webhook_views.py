"""Webhook intake through Django: `/hooks/<network>/` when the request did not come in through uvicorn's thin
route (`webhook_asgi`), i.e. the test client or a WSGI server. The decisions are `webhook_intake`'s; this view
reads the request and commits the delivery in the request's own thread, as a batch of one."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from hubbub.ingest import webhook_intake as intake
from hubbub.ingest.webhook_intake import forget_channels

__all__ = ["forget_channels", "hook"]


@csrf_exempt
def hook(request: HttpRequest, network: str) -> HttpResponse:
    answer = intake.unknown_network(network)
    if answer is None and request.method == "GET":
        answer = intake.answer_get(network, request.GET)
    elif answer is None and request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    elif answer is None:
        body = _body(request)
        step = intake.too_big() if body is None else intake.front(network, body, request.headers)
        if isinstance(step, intake.Refusal):
            intake.audit_refusal(network, body or b"", step.reason, request.META.get("REMOTE_ADDR", ""))
            answer = step.answer
        elif isinstance(step, intake.Pending):
            answer = intake.commit([step])[0]
        else:
            answer = step
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


def _body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over the limit: by its Content-Length before reading, and by what was
    read when it has none."""
    limit = settings.WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body
