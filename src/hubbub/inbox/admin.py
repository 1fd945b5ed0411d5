from django.contrib import admin

from hubbub.inbox.models import CannedResponse, Conversation, Message, Note, Reply, Tag


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "brand", "network", "author", "status", "assignee", "sentiment", "last_message_at")
    list_filter = ("organization", "status", "sentiment", "network")
    raw_id_fields = ("author", "assignee")
    search_fields = ("search_text",)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("external_id", "direction", "brand", "sentiment", "intent", "created_at")
    list_filter = ("organization", "direction", "sentiment", "network")
    raw_id_fields = ("conversation", "author")


admin.site.register(Reply)
admin.site.register(Note)
admin.site.register(Tag)
admin.site.register(CannedResponse)
