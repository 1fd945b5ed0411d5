from django.urls import path

from hubbub.accounts.views import members, security, signin, tokens

app_name = "accounts"

urlpatterns = [
    path("login/code/", signin.two_factor_code, name="two_factor_code"),
    path("account/two-factor/", security.two_factor_setup, name="two_factor_setup"),
    path("account/set-password/<uidb64>/<token>/", signin.set_password, name="set_password"),
    path("settings/users/", members.members_page, name="members"),
    path("settings/users/new/", members.member_create, name="member_create"),
    path("settings/users/<int:membership_id>/", members.member_update, name="member_update"),
    path("settings/security/", members.security_policy, name="security_policy"),
    path("settings/tokens/", tokens.tokens_page, name="tokens"),
    path("settings/tokens/new/", tokens.token_create, name="token_create"),
    path("settings/tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
]
