"""ASGI entry point (uvicorn): streaming responses carry the live SSE updates."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does before it makes Django's handler

from hubbub.web.asgi_handler import StreamingASGIHandler  # noqa: E402  (needs the apps loaded)

application = StreamingASGIHandler()
