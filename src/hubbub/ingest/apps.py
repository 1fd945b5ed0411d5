from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "hubbub.ingest"
    label = "ingest"

    def ready(self) -> None:
        """Ingest owns the quarantine and the raw event log; the apps below it reach them through a registry
        (`importreport.register_quarantine`) and a signal (`crm.signals.customer_erased`)."""
        from hubbub.importreport import register_quarantine
        from hubbub.ingest.quarantine import store_rejects

        register_quarantine(store_rejects)
