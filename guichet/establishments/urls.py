"""URLs of the establishment pages (mounted at /etablissements/): claims, members, the ARS queue."""

from django.urls import path

from . import views

app_name = "establishments"
urlpatterns = [
    path("", views.my_establishments, name="mine"),
    path("nouveau/", views.create_manual, name="create"),
    path("recherche/", views.search, name="search"),
    path("premieres-demandes/", views.ars_claims, name="ars_claims"),
    path("<int:pk>/detacher/", views.detach, name="detach"),
    path("<int:pk>/membres/", views.members, name="members"),
    path("demandes/<int:pk>/accepter/", views.request_accept, name="request_accept"),
    path("demandes/<int:pk>/refuser/", views.request_refuse, name="request_refuse"),
    path("demandes/<int:pk>/retirer/", views.request_withdraw, name="request_withdraw"),
    path("membres/<int:access_pk>/retirer/", views.member_remove, name="member_remove"),
    path("membres/<int:access_pk>/referent/", views.member_promote, name="member_promote"),
]
