from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "hubbub.listening"
    label = "listening"

    def ready(self) -> None:
        """Listening sits above workflow: it tells workflow's approval check whether a brand is in a war-room
        incident (every reply then needs approval), rather than workflow importing listening."""
        from hubbub.listening.services import active_incident
        from hubbub.workflow.services.approvals import register_incident_lookup

        register_incident_lookup(active_incident)
