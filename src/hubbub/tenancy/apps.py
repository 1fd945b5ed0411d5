from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "hubbub.tenancy"
    label = "tenancy"
