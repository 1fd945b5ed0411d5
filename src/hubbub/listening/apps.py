from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "hubbub.listening"
    label = "listening"

    def ready(self) -> None:
        """Listening sits above workflow: it tells workflow's approval check whether a brand is in a war-room
        incident (every reply then needs approval), rather than workflow importing listening. It also hands the
        feed connectors its query language, for a feed's keyword filter."""
        from hubbub.connectors.feeds import register_keyword_filter
        from hubbub.listening.query_language import parse
        from hubbub.listening.services import active_incident
        from hubbub.workflow.services.approvals import register_incident_lookup

        register_incident_lookup(active_incident)
        register_keyword_filter(lambda query: parse(query).matches)
