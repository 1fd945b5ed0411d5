from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "hubbub.api"
    label = "api"
