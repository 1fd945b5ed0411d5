"""The thin ASGI route for `/hooks/<network>/`, in front of Django's handler in the app uvicorn serves.

Why: a network's delivery needs a size limit, a signature check and a commit, and nothing of the UI stack
that Django runs for every request (sessions, CSRF, auth, OTP, tenancy, CSP, axes, the URL resolver, and a
sync view on one thread per process). Measured on one process: 77 deliveries/s through Django against the
1,500/s a network may send in a burst (`benchmarks/channels.py`, docs/performance.md).

Here a delivery is read and checked on the event loop (HMAC and one JSON read: no database), then handed to
the process's writer (`group_commit.GroupCommit`), which commits every delivery queued meanwhile in one
transaction and wakes each request only after that commit: the 2xx still means "committed". A failed commit
is answered 503, so the network delivers again. A refused signature is audited on the same writer thread
before its 401. Every other path goes to Django untouched. The request id and the latency metric are kept
as `request_log.RequestLogMiddleware` keeps them for Django's routes; the log line only for answers other
than 200 (refusals, failures): at 1,500 deliveries a second, a line each was a tenth of the route's time
and a flood of lines nobody reads, while `/metrics` counts them all.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings

from hubbub import metrics
from hubbub.ingest import webhook_intake as intake
from hubbub.ingest.group_commit import GroupCommit
from hubbub.request_log import REQUEST_ID, request_id_for

log = logging.getLogger("hubbub.request")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]  # Django's handler types its arguments a little differently

HOOK_PATH = re.compile(r"^/hooks/([^/]+)/$")
ROUTE = "webhook"  # the Django route's name: one label for both doors in /metrics and the log

#: The process's one writer: deliveries queued while it commits go into its next transaction together.
writer: GroupCommit[intake.Pending, intake.Answer] = GroupCommit(intake.commit, name="hubbub-webhook-writer")


class ClientGone(Exception):
    """The client disconnected before its body arrived: there is no one to answer."""


def with_hooks(app: ASGIApp) -> ASGIApp:
    """`app` with `/hooks/<network>/` answered here, every other request passed to it."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        match = HOOK_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await app(scope, receive, send)
            return
        await hook(match[1], scope, receive, send)

    return route


async def hook(network: str, scope: Scope, receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    request_id = request_id_for(headers.get("x-request-id"))
    token = REQUEST_ID.set(request_id)
    method = scope["method"]
    try:
        answer = await _answer(network, method, scope, receive, headers)
        await _send(send, answer, request_id)
        elapsed = time.perf_counter() - started
        metrics.REQUEST_LATENCY.labels(ROUTE, method).observe(elapsed)
        if answer.status != 200:  # deliveries are counted in /metrics; a line each cost a tenth of one
            extra = {"route": ROUTE, "status": answer.status, "duration_ms": round(elapsed * 1000, 1)}
            log.info("%s %s %s", method, ROUTE, answer.status, extra=extra)
    except ClientGone:
        return
    finally:
        REQUEST_ID.reset(token)


async def _send(send: Send, answer: intake.Answer, request_id: str) -> None:
    headers = [
        (b"content-type", answer.content_type.encode()),
        (b"content-length", str(len(answer.body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if answer.status == 405:
        headers.append((b"allow", b"GET, POST"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _answer(network: str, method: str, scope: Scope, receive: Receive, headers: dict[str, str]) -> intake.Answer:
    unknown = intake.unknown_network(network)
    if unknown is not None:
        return unknown
    if method == "GET":
        return intake.answer_get(network, dict(parse_qsl(scope["query_string"].decode("latin-1"))))
    if method != "POST":
        return intake.error(405, "Webhooks are GET (handshake) or POST (delivery).")
    body = await _body(receive, headers.get("content-length"))
    if body is None:
        return intake.too_big()
    step = intake.front(network, body, headers)
    if isinstance(step, intake.Refusal):
        client = scope.get("client") or ("",)
        await writer.call(partial(intake.audit_refusal, network, body, step.reason, str(client[0])))
        return step.answer
    if isinstance(step, intake.Answer):
        return step
    try:
        return await writer.submit(step)
    except Exception as exc:  # not committed: no 2xx, the network delivers it again
        return intake.error(503, f"The delivery could not be stored ({type(exc).__name__}); send it again.")


async def _body(receive: Receive, declared: str | None) -> bytes | None:
    """The body, or None when it is over the limit: by its Content-Length before reading, else as it arrives."""
    limit = settings.WEBHOOK_MAX_BYTES
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
