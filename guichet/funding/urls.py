from django.urls import path

from . import views, views_bordereau, views_import, views_proofs

app_name = "funding"
urlpatterns = [
    path("", views.grant_list, name="list"),
    path("import/", views_import.upload, name="import"),
    path("import/confirmer/", views_import.confirm, name="import_confirm"),
    path("import/modele.xlsx", views_import.template, name="import_template"),
    path("mes-subventions/", views_proofs.my_grants, name="mine"),
    path("dossiers/<int:pk>/justificatifs/", views_proofs.invoices, name="invoices"),
    path("dossiers/<int:pk>/justificatifs/factures/", views_proofs.line_add, name="invoice_add"),
    path("dossiers/<int:pk>/justificatifs/factures/<int:line_pk>/supprimer/", views_proofs.line_delete,
         name="invoice_delete"),
    path("dossiers/<int:pk>/justificatifs/factures/<int:line_pk>/fichier/", views_proofs.line_file,
         name="invoice_file"),
    path("dossiers/<int:pk>/justificatifs/realisation/", views_proofs.progress, name="progress"),
    path("dossiers/<int:pk>/justificatifs/bordereau.xlsx", views_bordereau.download, name="bordereau"),
    path("dossiers/<int:pk>/justificatifs/bordereau/", views_bordereau.upload, name="bordereau_upload"),
]
