"""URL patterns, included by guichet/instruction/urls.py."""

from django.urls import path

from .labels import labels_view

urlpatterns = [path("dossiers/<int:pk>/etiquettes/", labels_view, name="set_labels")]
