from django.urls import path

from . import views, views_export
from . import views_sessions as sessions

app_name = "commission"
urlpatterns = [
    path("dossiers/<int:pk>/notation/", views.grid, name="grid"),
    path("appels/<slug:slug>/classement/", views.ranking, name="ranking"),
    path("seances/<int:pk>/arbitrage.xlsx", views_export.arbitration_xlsx, name="session_xlsx"),
    path("dossiers/<int:pk>/", views.member_dossier, name="member_dossier"),
    path("mes-seances/", views.my_sessions, name="my_sessions"),
    path("appels/<slug:slug>/seances/", sessions.session_list, name="sessions"),
    path("appels/<slug:slug>/enveloppe/", sessions.envelope, name="envelope"),
    path("seances/<int:pk>/", sessions.session_detail, name="session"),
    path("seances/<int:pk>/membres/", sessions.member_add, name="member_add"),
    path("seances/<int:pk>/membres/<int:member_pk>/retirer/", sessions.member_remove, name="member_remove"),
    path("seances/<int:pk>/ordre-du-jour/", sessions.agenda, name="agenda"),
    path("seances/<int:pk>/appliquer/", sessions.apply, name="apply"),
    path("seances/<int:pk>/proces-verbal.pdf", sessions.minutes, name="minutes"),
    path("seances/<int:pk>/proces-verbal/projet/", sessions.minutes_draft, name="minutes_draft"),
    path("ordre-du-jour/<int:item_pk>/retirer/", sessions.agenda_remove, name="agenda_remove"),
    path("ordre-du-jour/<int:item_pk>/actions/", sessions.item_actions, name="item_actions"),
    path("ordre-du-jour/<int:item_pk>/decision/", sessions.item_decision, name="decision"),
    path("actions/<int:pk>/montants/", sessions.line_amounts, name="line_amounts"),
    path("documents/<int:pk>/", sessions.document_download, name="document"),
    path("subventions/<int:grant_pk>/", sessions.signed_convention, name="grant"),
]
