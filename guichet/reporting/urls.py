"""URLs of the follow-up: exports of the workspace's lists."""

from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("appels/<slug:slug>/dossiers.<str:extension>", views.workspace_export, name="workspace_export"),
]
