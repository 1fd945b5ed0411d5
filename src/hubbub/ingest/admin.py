from django.contrib import admin

from hubbub.ingest.models import QuarantinedEvent, RawEvent


@admin.register(RawEvent)
class RawEventAdmin(admin.ModelAdmin):
    list_display = ("id", "network", "external_id", "source", "state", "received_at")
    list_filter = ("organization", "state", "source")
    search_fields = ("external_id",)


@admin.register(QuarantinedEvent)
class QuarantinedEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "source", "location", "reason")
    list_filter = ("organization", "source")
    search_fields = ("reason", "raw")
