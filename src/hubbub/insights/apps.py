from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "hubbub.insights"
    label = "insights"
