from django.urls import path

from hubbub.api import webhook_views as views

app_name = "webhooks"

urlpatterns = [
    path("settings/webhooks/", views.webhooks_page, name="list"),
    path("settings/webhooks/new/", views.webhook_create, name="create"),
    path("settings/webhooks/<int:endpoint_id>/", views.webhook_detail, name="detail"),
    path("settings/webhooks/<int:endpoint_id>/toggle/", views.webhook_toggle, name="toggle"),
    path("settings/webhooks/<int:endpoint_id>/delete/", views.webhook_delete, name="delete"),
    path("settings/webhooks/<int:endpoint_id>/test/", views.webhook_test, name="test"),
    path("settings/webhooks/deliveries/<int:delivery_id>/resend/", views.delivery_resend, name="resend"),
]
