from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "hubbub.ingest"
    label = "ingest"
