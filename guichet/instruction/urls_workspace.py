"""URL patterns, included by guichet/instruction/urls.py."""

from django.urls import path

from . import views_workspace as views

urlpatterns: list = [
    path("appels/", views.calls, name="calls"),
    path("appels/<slug:slug>/", views.call_workspace, name="workspace"),
    path("appels/<slug:slug>/suivre/<int:pk>/", views.toggle_follow, name="toggle_follow"),
]
