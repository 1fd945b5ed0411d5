from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "hubbub.insights"
    label = "insights"

    def ready(self) -> None:
        """Insights sits above the inbox and ingest: it follows their signals to mark the days whose report
        rollups a change touched (`insights.rollups`), rather than being called by them."""
        from hubbub.insights import rollup_hooks  # Django imports apps.py before the models exist

        rollup_hooks.connect()
