from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "hubbub.connectors"
    label = "connectors"
