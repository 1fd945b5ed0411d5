"""Web routes of the insights app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.insights import views

urlpatterns = [
    path("reports/voice-of-the-customer/", views.voice_of_customer, name="insights_voc"),
    path("reports/voice-of-the-customer/upload/", views.upload_surveys, name="insights_voc_upload"),
]
