from django.urls import path

from . import views

app_name = "experts"
urlpatterns = [
    path("dossiers/<int:pk>/", views.dossier_requests, name="dossier"),
    path("dossiers/<int:pk>/demandes/<int:request_id>/annuler/", views.revoke, name="revoke"),
    path("dossiers/<int:pk>/fichiers/<int:file_id>/", views.ars_file, name="ars_file"),
    path("<str:token>/", views.answer, name="answer"),
    path("<str:token>/notation/", views.score, name="score"),
    path("<str:token>/fichiers/<int:attachment_id>/", views.expert_file, name="file"),
    path("<str:token>/pieces/<int:file_id>/", views.expert_question_file, name="question_file"),
]
