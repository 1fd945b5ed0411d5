"""Web routes of the crm app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.crm import views

urlpatterns = [
    path("customers/", views.customer_list, name="crm_customers"),
    path("customers/new/", views.customer_new, name="crm_customer_new"),
    path("customers/export.csv", views.customer_export, name="crm_export"),
    path("customers/import/", views.import_page, name="crm_import"),
    path("customers/import/jobs/<int:job_id>/", views.import_job, name="crm_import_job"),
    path("customers/import/jobs/<int:job_id>/start/", views.import_job_start, name="crm_import_job_start"),
    path("customers/import/jobs/<int:job_id>/progress.json", views.import_job_progress, name="crm_import_job_progress"),
    path("customers/suggestions/", views.suggestions, name="crm_suggestions"),
    path("customers/rules/", views.tier_rules, name="crm_rules"),
    path("customers/conflicts/", views.conflicts, name="crm_conflicts"),
    path("customers/hubspot/", views.hubspot_page, name="crm_hubspot"),
    path("customers/hubspot/connect/", views.hubspot_connect, name="crm_hubspot_connect"),
    path("customers/hubspot/callback/", views.hubspot_callback, name="crm_hubspot_callback"),
    path("customers/hubspot/disconnect/", views.hubspot_disconnect, name="crm_hubspot_disconnect"),
    path("customers/hubspot/sync/", views.hubspot_sync, name="crm_hubspot_sync"),
    path("customers/<int:customer_id>/", views.customer_detail, name="crm_customer"),
    path("customers/<int:customer_id>/interactions/", views.interaction_new, name="crm_interaction"),
    path("customers/<int:customer_id>/merge/", views.merge, name="crm_merge"),
    path("customers/<int:customer_id>/export.json", views.export_json, name="crm_export_json"),
    path("customers/<int:customer_id>/erase/", views.erase, name="crm_erase"),
    path("customers/merges/<int:merge_id>/undo/", views.unmerge, name="crm_unmerge"),
    path("customers/links/<int:link_id>/<str:decision>/", views.link_decide, name="crm_link_decide"),
    path("customers/profiles/<int:profile_id>/suggest/", views.find_matches, name="crm_find_matches"),
    path("customers/profiles/<int:profile_id>/link/", views.link_manual, name="crm_link_manual"),
]
