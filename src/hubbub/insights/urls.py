"""Web routes of the insights app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.insights import report_views, views

urlpatterns = [
    path("reports/", report_views.response_times_report, name="reports"),
    path("reports/voice-of-the-customer/", views.voice_of_customer, name="insights_voc"),
    path("reports/voice-of-the-customer/upload/", views.upload_surveys, name="insights_voc_upload"),
    path("reports/sla/", report_views.sla_report, name="insights_reports_sla"),
    path("reports/volume/", report_views.volume_report, name="insights_reports_volume"),
    path("reports/agents/", report_views.agents_report, name="insights_reports_agents"),
    path("reports/csat/", report_views.csat_report, name="insights_reports_csat"),
    path("reports/export/<slug:name>/<slug:table>.csv", report_views.export, name="insights_reports_export"),
]
