"""Web routes of the workflow app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.workflow import views

app_name = "workflow"

urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:reply_id>/", views.approval_decide, name="approval_decide"),
    path("workflow/rules/", views.rules, name="rules"),
    path("workflow/rules/new/", views.rule_edit, name="rule_new"),
    path("workflow/rules/preview/", views.rule_preview, name="rule_preview"),
    path("workflow/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("workflow/rules/<int:rule_id>/action/", views.rule_action, name="rule_action"),
    path("workflow/settings/", views.settings_page, name="settings"),
    path("workflow/sla-policies/", views.sla_policy_save, name="sla_policy_save"),
    path("workflow/business-hours/", views.hours_save, name="hours_save"),
    path("workflow/approval-policies/", views.approval_policy_save, name="approval_policy_save"),
    path("workflow/teams/", views.teams, name="teams"),
    path("workflow/teams/<int:team_id>/", views.team_policy, name="team_policy"),
    path("workflow/availability/", views.availability, name="availability"),
    path("workflow/canned/", views.canned, name="canned"),
    path("c/<int:conversation_id>/composing/", views.composing, name="composing"),
    path("bulk-reply/", views.bulk_reply, name="bulk_reply"),
    path("issues/", views.issues, name="issues"),
    path("issues/<int:issue_id>/", views.issue, name="issue"),
    path("audit/", views.audit_log, name="audit"),
]
