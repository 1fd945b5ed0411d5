from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "hubbub.listening"
    label = "listening"
