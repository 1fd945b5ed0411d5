"""One JSON object per log line, each carrying the id of the request that wrote it.

Why: with several web processes and workers writing to one log collector, a line is only useful if it
says which request it belongs to. The id comes from the proxy's `X-Request-ID` (so its access log and
ours join) or is made here, is echoed in the response header (so a user can quote it) and sits in a
context variable that `RequestIdFilter` copies onto every record written while the request is answered.

What is logged at INFO is chosen, not dumped: the route's pattern (never the path, which may carry a
set-password token), the method, the status and the duration. Headers, query strings and bodies (tokens,
passwords, mention text) never reach a log line from here.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from hubbub import metrics

log = logging.getLogger("hubbub.request")

REQUEST_ID: ContextVar[str] = ContextVar("hubbub_request_id", default="")
#: A proxy's id is kept only if it looks like one: a header is user input and ends up in every line.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: The record attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def request_id_for(header: str | None) -> str:
    """The proxy's id, or a new one: 128 random bits as 32 hex digits. A label, not a secret, so from
    `random` rather than `uuid4()`, whose `os.urandom` cost 0.12 ms a request on a busy machine (profiled
    under webhook load, where it was a fifth of a delivery's time)."""
    return header if header and _VALID_ID.match(header) else f"{random.getrandbits(128):032x}"


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (empty outside a request: a worker's task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request id, the `extra=` fields and the traceback: one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "") or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and isinstance(value, str | int | float | bool):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def route_of(request: HttpRequest) -> str:
    """The route's name (or pattern) for labels and logs: a handful of values, never a user's path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class RequestLogMiddleware:
    """First in the chain: names the request, times it for `/metrics`, writes one INFO line about it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get("X-Request-ID"))
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            route = route_of(request)
            metrics.REQUEST_LATENCY.labels(route, request.method or "").observe(elapsed)
            log.info(
                "%s %s %s",
                request.method,
                route,
                response.status_code,
                extra={"route": route, "status": response.status_code, "duration_ms": round(elapsed * 1000, 1)},
            )
            response["X-Request-ID"] = request_id
            return response
        finally:
            REQUEST_ID.reset(token)
