"""ASGI entry point (uvicorn): streaming responses carry the live SSE updates; `/hooks/` takes a thin route
of its own in front of Django (`ingest.webhook_asgi`: a network's delivery needs no UI middleware)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does before it makes Django's handler

from hubbub.ingest.webhook_asgi import with_hooks  # noqa: E402  (needs the apps loaded)
from hubbub.web.asgi_handler import StreamingASGIHandler  # noqa: E402

application = with_hooks(StreamingASGIHandler())

# Every page's module now, not on the first request, then out of the garbage collector's sight
# (`runtime.settle_heap`): a full collection of the start-up heap would stall every request in flight.
import hubbub.urls  # noqa: E402, F401
from hubbub.runtime import settle_heap  # noqa: E402

settle_heap(raise_thresholds=False)
