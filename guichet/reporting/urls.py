"""URLs of the follow-up: exports of the workspace's lists and of the grants, « Mes exports »."""

from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("appels/<slug:slug>/dossiers.<str:extension>", views.workspace_export, name="workspace_export"),
    path("subventions.<str:extension>", views.grants_export, name="grants_export"),
    path("exports/", views.mine, name="mine"),
    path("exports/<int:pk>/", views.job, name="job"),
    path("exports/<int:pk>/etat/", views.job_status, name="job_status"),
    path("exports/<int:pk>/fichier/", views.job_file, name="job_file"),
]
