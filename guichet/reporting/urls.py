"""URLs of the follow-up: exports of the workspace's lists and of the grants, the calls' export templates,
ZIPs of dossiers' files, the dossier PDF, « Mes exports », statistics of a call, a region and the country."""

from django.urls import path

from . import views, views_files, views_statistics, views_templates

app_name = "reporting"
urlpatterns = [
    path("appels/<slug:slug>/dossiers.<str:extension>", views.workspace_export, name="workspace_export"),
    path("subventions.<str:extension>", views.grants_export, name="grants_export"),
    path("exports/", views.mine, name="mine"),
    path("exports/<int:pk>/", views.job, name="job"),
    path("exports/<int:pk>/etat/", views.job_status, name="job_status"),
    path("exports/<int:pk>/fichier/", views.job_file, name="job_file"),
    path("appels/<slug:slug>/statistiques/", views_statistics.call_statistics, name="call_statistics"),
    path("appels/<slug:slug>/statistiques/publique", views_statistics.call_public_toggle, name="call_public_toggle"),
    path("appels/<slug:slug>/statistiques/bilan.pdf", views_statistics.call_bilan, name="call_bilan"),
    path("appels/<slug:slug>/statistiques/<slug:key>.<str:extension>", views_statistics.call_statistics_download,
         name="call_statistics_download"),
    path("statistiques/regions/", views_statistics.region_statistics, name="region_statistics"),
    path("statistiques/regions/<slug:region>/", views_statistics.region_statistics_of,
         name="region_statistics_of"),
    path("statistiques/regions/<slug:region>/<slug:key>.<str:extension>",
         views_statistics.region_statistics_download, name="region_statistics_download"),
    # The national reader's pages: NationalReaderMiddleware lets it reach the « national_* » names only.
    path("statistiques/national/", views_statistics.national_statistics, name="national_statistics"),
    path("statistiques/national/<slug:key>.<str:extension>", views_statistics.national_statistics_download,
         name="national_statistics_download"),
    # Before the spreadsheets' « selection.<extension> », which would take « selection.zip » for itself.
    path("appels/<slug:slug>/fichiers.zip", views_files.workspace_zip, name="workspace_zip"),
    path("appels/<slug:slug>/selection.zip", views_files.selection_zip, name="selection_zip"),
    path("dossiers/<int:pk>/dossier.pdf", views_files.dossier_pdf_view, name="dossier_pdf"),
    path("appels/<slug:slug>/selection.<str:extension>", views.selection_export, name="selection_export"),
    path("appels/<slug:slug>/modeles-export/", views_templates.templates_list, name="templates"),
    path("appels/<slug:slug>/modeles-export/nouveau", views_templates.template_edit, name="template_create"),
    path("appels/<slug:slug>/modeles-export/<int:pk>/", views_templates.template_edit, name="template_edit"),
    path("appels/<slug:slug>/modeles-export/<int:pk>/supprimer", views_templates.template_delete,
         name="template_delete"),
    path("appels/<slug:slug>/modeles-export/<int:pk>/dossiers.<str:extension>", views_templates.template_export,
         name="template_export"),
]
