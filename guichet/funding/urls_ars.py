"""URLs of the ARS side of payments, included under ``paiements/`` by guichet/urls.py (namespace
``payments``): validating a proofs dossier's invoices, a proofs call's windows and payment orders, a
grant's ledger."""

from django.urls import path

from . import views_payments, views_validation

app_name = "payments"
urlpatterns = [
    path("dossiers/<int:pk>/justificatifs/", views_validation.validation, name="validation"),
    path("dossiers/<int:pk>/justificatifs/<int:line_pk>/", views_validation.validate_line, name="validate_line"),
    path("appels/<slug:slug>/", views_payments.call_payments, name="call"),
    path("appels/<slug:slug>/ordres/", views_payments.create_order, name="create_order"),
    path("ordres/<int:pk>/", views_payments.order_detail, name="order"),
    path("ordres/<int:pk>/ordre.xlsx", views_payments.order_xlsx, name="order_xlsx"),
    path("ordres/<int:pk>/ordre.csv", views_payments.order_csv, name="order_csv"),
    path("subventions/<int:pk>/", views_payments.ledger, name="ledger"),
    path("subventions/<int:pk>/cloturer/", views_payments.close_grant, name="close"),
    path("subventions/<int:pk>/montant-total/", views_payments.set_total, name="set_total"),
]
