"""URLs of the follow-up: exports of the workspace's lists and the calls' export templates."""

from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("appels/<slug:slug>/dossiers.<str:extension>", views.workspace_export, name="workspace_export"),
    path("appels/<slug:slug>/selection.<str:extension>", views.selection_export, name="selection_export"),
    path("appels/<slug:slug>/modeles-export/", views.templates_list, name="templates"),
    path("appels/<slug:slug>/modeles-export/nouveau", views.template_edit, name="template_create"),
    path("appels/<slug:slug>/modeles-export/<int:pk>/", views.template_edit, name="template_edit"),
    path("appels/<slug:slug>/modeles-export/<int:pk>/supprimer", views.template_delete, name="template_delete"),
    path("appels/<slug:slug>/modeles-export/<int:pk>/dossiers.<str:extension>", views.template_export,
         name="template_export"),
]
