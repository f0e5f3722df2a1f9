from django.urls import path

from . import views

app_name = "dossiers"
urlpatterns = [
    path("", views.my_dossiers, name="mine"),
    path("nouveau/<slug:slug>/", views.start, name="start"),
]
