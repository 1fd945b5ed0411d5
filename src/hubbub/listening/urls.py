"""Web routes of the listening app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.listening import views

urlpatterns = [
    path("listening/", views.listening, name="listening"),
    path("listening/queries/new/", views.query_new, name="listening_query_new"),
    path("listening/queries/<int:query_id>/", views.query_edit, name="listening_query_edit"),
    path("listening/queries/<int:query_id>/delete/", views.query_delete, name="listening_query_delete"),
    path("listening/queries/check/", views.query_check, name="listening_query_check"),
    path("listening/queries/preview/", views.query_preview, name="listening_query_preview"),
    path("listening/alerts/", views.alerts, name="listening_alerts"),
    path("listening/alerts/<int:alert_id>/ack/", views.alert_ack, name="listening_alert_ack"),
    path("listening/rules/", views.rule_save, name="listening_rule_save"),
    path("listening/temperature/", views.temperature, name="temperature"),
    path("war-room/", views.war_room, name="war_room"),
    path("war-room/incidents/open/", views.incident_open, name="incident_open"),
    path("war-room/incidents/<int:incident_id>/", views.incident, name="incident"),
    path("war-room/incidents/<int:incident_id>/<str:action>/", views.incident_action, name="incident_action"),
]
