"""URLs of the follow-up: exports of the workspace's lists, ZIPs of dossiers' files, the dossier PDF."""

from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("appels/<slug:slug>/dossiers.<str:extension>", views.workspace_export, name="workspace_export"),
    path("appels/<slug:slug>/fichiers.zip", views.workspace_zip, name="workspace_zip"),
    path("appels/<slug:slug>/selection.zip", views.selection_zip, name="selection_zip"),
    path("dossiers/<int:pk>/dossier.pdf", views.dossier_pdf_view, name="dossier_pdf"),
]
