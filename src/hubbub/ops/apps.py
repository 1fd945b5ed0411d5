from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Observability: health and readiness checks, Prometheus metrics, the Settings → System page.

    Sits at the top of the apps: it reads the figures other apps own (ingest lag, failed replies, SLA
    clocks) and nothing below imports it; the apps count their own work through `hubbub.metrics`."""

    name = "hubbub.ops"
    label = "ops"
