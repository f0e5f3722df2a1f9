from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("dossiers/<int:pk>/", views.thread, name="thread"),
    path("dossiers/<int:pk>/messages/<int:message_id>/supprimer/", views.delete, name="delete"),
    path("dossiers/<int:pk>/pieces-jointes/<int:attachment_id>/", views.attachment, name="attachment"),
]
