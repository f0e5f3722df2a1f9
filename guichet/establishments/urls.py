"""URLs of the applicant's establishment pages (mounted at /etablissements/)."""

from django.urls import path

from . import views

app_name = "establishments"
urlpatterns = [
    path("", views.my_establishments, name="mine"),
    path("nouveau/", views.create_manual, name="create"),
    path("recherche/", views.search, name="search"),
    path("<int:pk>/detacher/", views.detach, name="detach"),
]
