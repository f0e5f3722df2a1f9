from django.urls import path

from . import views

app_name = "dossiers"
urlpatterns = [
    path("", views.my_dossiers, name="mine"),
    path("nouveau/<slug:slug>/", views.start, name="start"),
    path("invitation/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("<int:pk>/", views.summary, name="summary"),
    path("<int:pk>/partie/<slug:section>/", views.section, name="section"),
    path("<int:pk>/deposer/", views.file, name="file"),
    path("<int:pk>/etablissements/", views.partners, name="partners"),
    path("<int:pk>/inviter/", views.invite, name="invite"),
    path("<int:pk>/supprimer/", views.delete_draft, name="delete"),
    path("<int:pk>/dupliquer/", views.duplicate, name="duplicate"),
    path("<int:pk>/fichiers/<int:attachment_id>/", views.attachment, name="attachment"),
    path("<int:pk>/fichiers.zip", views.zip_files, name="zip"),
]
