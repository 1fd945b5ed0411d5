from django.contrib import admin

from hubbub.connectors.models import Channel


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "network", "brand", "organization", "is_active")
    list_filter = ("organization", "network", "is_active")
    exclude = ("credentials_encrypted",)
