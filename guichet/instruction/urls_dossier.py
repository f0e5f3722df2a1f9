"""URL patterns of the instructor's dossier page and batch operations, included by guichet/instruction/urls.py."""

from django.urls import path

from . import views_dossier as views

urlpatterns: list = [
    path("dossiers/<int:pk>/", views.dossier, name="dossier"),
    path("dossiers/<int:pk>/action/<slug:event>/", views.transition, name="transition"),
    path("dossiers/<int:pk>/instruire/<slug:event>/", views.decide, name="decide"),
    path("dossiers/<int:pk>/suivre/", views.follow, name="follow"),
    path("dossiers/<int:pk>/groupe/", views.assign_group, name="assign_group"),
    path("dossiers/<int:pk>/annotations/<slug:section>/", views.annotations, name="annotations"),
    path("dossiers/<int:pk>/deposer-corrections/", views.file_corrections, name="file_corrections"),
    path("dossiers/lot/", views.batch_action, name="batch"),
]
