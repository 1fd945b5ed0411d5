from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "hubbub.ingest"
    label = "ingest"

    def ready(self) -> None:
        """Ingest owns the quarantine and the raw event log; the apps below it reach them through a registry
        (`importreport.register_quarantine`, `connectors.outbound.register_event_extra_lookup` for the events'
        extras a reply needs) and a signal (`crm.signals.customer_erased`)."""
        from hubbub.connectors.outbound import register_event_extra_lookup
        from hubbub.crm.models import Customer
        from hubbub.crm.signals import customer_erased
        from hubbub.importreport import register_quarantine
        from hubbub.ingest.channel_intake import event_extra
        from hubbub.ingest.erasure import erase_raw_copies
        from hubbub.ingest.quarantine import store_rejects

        register_quarantine(store_rejects)
        register_event_extra_lookup(event_extra)
        customer_erased.connect(erase_raw_copies, sender=Customer, dispatch_uid="ingest.erase_raw_copies")
