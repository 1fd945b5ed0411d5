"""Web routes of the analysis app (mounted at the site root by hubbub.web.urls)."""

from django.urls import path

from hubbub.analysis import topic_views, views

urlpatterns = [
    path("analysis/", views.evaluation, name="analysis_evaluation"),
    path("analysis/confusion/<str:name>.png", views.confusion_png, name="analysis_confusion"),
    path("analysis/topics/", topic_views.brand_topics, name="analysis_topics"),
]
