"""WSGI entry point, for servers without SSE needs (admin-only deployments)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
application = get_wsgi_application()
