"""URL of the instructor's notification preferences, included by guichet/instruction/urls.py."""

from django.urls import path

from . import views_preferences as views

urlpatterns: list = [
    path("preferences/", views.preferences, name="preferences"),
]
