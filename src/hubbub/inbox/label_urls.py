"""Routes of the label-correction form (`inbox.label_views`), mounted at the site root by `hubbub.urls`.

Path and name are the ones the analysis app used, so the form's `{% url 'analysis_correct' %}` is unchanged.
"""

from django.urls import path

from hubbub.inbox import label_views

urlpatterns = [
    path("messages/<int:message_id>/labels/", label_views.correct, name="analysis_correct"),
]
