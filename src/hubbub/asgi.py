"""ASGI entry point (uvicorn): streaming responses carry the live SSE updates; `/hooks/` takes a thin route
of its own in front of Django (`ingest.webhook_asgi`: a network's delivery needs no UI middleware)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does before it makes Django's handler

from hubbub.ingest.webhook_asgi import with_hooks  # noqa: E402  (needs the apps loaded)
from hubbub.web.asgi_handler import StreamingASGIHandler  # noqa: E402

application = with_hooks(StreamingASGIHandler())
