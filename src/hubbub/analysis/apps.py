from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "hubbub.analysis"
    label = "analysis"
