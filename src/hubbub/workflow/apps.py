from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "hubbub.workflow"
    label = "workflow"
