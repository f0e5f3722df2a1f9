from django.urls import path

from . import views

app_name = "commission"
urlpatterns = [
    path("dossiers/<int:pk>/notation/", views.grid, name="grid"),
    path("appels/<slug:slug>/classement/", views.ranking, name="ranking"),
]
