from django.contrib import admin

from hubbub.crm.models import Customer, IdentityLink, Order, SocialProfile


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "tier", "lifetime_value", "order_count", "organization")
    list_filter = ("organization", "tier")
    search_fields = ("name", "email", "external_id")


@admin.register(SocialProfile)
class SocialProfileAdmin(admin.ModelAdmin):
    list_display = ("handle", "network", "display_name", "followers", "customer", "organization")
    list_filter = ("organization", "network")
    search_fields = ("handle", "display_name", "external_id")
    raw_id_fields = ("customer",)


admin.site.register(IdentityLink)
admin.site.register(Order)
