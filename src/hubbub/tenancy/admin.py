from django.contrib import admin

from hubbub.tenancy.models import AuditEvent, Brand, Membership, Organization, Team


class BrandInline(admin.TabularInline):
    model = Brand
    extra = 0
    fields = ("name", "slug", "handles", "keywords", "hashtags")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_agency", "created_at")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [BrandInline]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "slug")
    list_filter = ("organization",)
    search_fields = ("name", "slug")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "timezone")
    filter_horizontal = ("members",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "is_available")
    list_filter = ("organization", "role")
    filter_horizontal = ("brands",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organization", "actor", "verb", "target_type", "target_id")
    list_filter = ("organization", "verb")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
