"""The ASGI handler uvicorn serves: streamed bodies are served asynchronously, whatever made them.

Django's ASGI handler iterates a streamed body with `async for`. The live SSE
stream is asynchronous already, but WhiteNoise's static files (every page
load) and the CSV exports stream from synchronous iterators: Django then
warns ("StreamingHttpResponse must consume synchronous iterators in order to
serve them asynchronously") and reads the whole body into memory in a thread
first. Django's own `ASGIStaticFilesHandler` fixes the same for `runserver`'s
static files by wrapping the iterator; this does it for every response.

A middleware cannot: Django runs a middleware synchronously when the one
inside it is synchronous, and there it only sees a sync iterator it cannot
make async.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

BATCH = 64  # chunks per trip to the worker thread: one file block or a few hundred CSV rows each


def _take(it: Iterator[Any], n: int) -> list[Any]:
    batch = []
    for chunk in it:
        batch.append(chunk)
        if len(batch) >= n:
            break
    return batch


async def pull(content: Iterator[Any]) -> AsyncIterator[Any]:
    """A synchronous stream as an asynchronous one, a batch at a time, so memory holds one batch only.

    thread_sensitive: a CSV export's database cursor lives in Django's one sync thread.
    """
    while batch := await sync_to_async(_take, thread_sensitive=True)(content, BATCH):
        for chunk in batch:
            yield chunk


def asynchronous(response: HttpResponseBase) -> HttpResponseBase:
    """The response, with a synchronous streamed body made asynchronous (others untouched)."""
    if isinstance(response, StreamingHttpResponse) and not response.is_async:
        # the setter checks the iterator's kind again: the response becomes is_async
        response.streaming_content = pull(cast(Iterator[bytes], response.streaming_content))
    return response


class StreamingASGIHandler(ASGIHandler):
    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return asynchronous(await super().get_response_async(request))
