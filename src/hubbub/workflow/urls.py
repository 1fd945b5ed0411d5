"""Web routes of the workflow app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.workflow.views import approvals, audit_log, bulk_reply, canned, issues, policies, presence, rules, teams

app_name = "workflow"

urlpatterns = [
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/<int:reply_id>/", approvals.approval_decide, name="approval_decide"),
    path("workflow/rules/", rules.rules, name="rules"),
    path("workflow/rules/new/", rules.rule_edit, name="rule_new"),
    path("workflow/rules/preview/", rules.rule_preview, name="rule_preview"),
    path("workflow/rules/<int:rule_id>/", rules.rule_edit, name="rule_edit"),
    path("workflow/rules/<int:rule_id>/action/", rules.rule_action, name="rule_action"),
    path("workflow/settings/", policies.settings_page, name="settings"),
    path("workflow/sla-policies/", policies.sla_policy_save, name="sla_policy_save"),
    path("workflow/business-hours/", policies.hours_save, name="hours_save"),
    path("workflow/approval-policies/", policies.approval_policy_save, name="approval_policy_save"),
    path("workflow/teams/", teams.teams, name="teams"),
    path("workflow/teams/<int:team_id>/", teams.team_policy, name="team_policy"),
    path("workflow/availability/", teams.availability, name="availability"),
    path("workflow/canned/", canned.canned, name="canned"),
    path("c/<int:conversation_id>/composing/", presence.composing, name="composing"),
    path("bulk-reply/", bulk_reply.bulk_reply, name="bulk_reply"),
    path("issues/", issues.issues, name="issues"),
    path("issues/<int:issue_id>/", issues.issue, name="issue"),
    path("audit/", audit_log.audit_log, name="audit"),
]
