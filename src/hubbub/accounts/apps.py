from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Who may sign in and how: lockout, two-factor, and an organisation's own users and API tokens."""

    name = "hubbub.accounts"
    label = "accounts"
