"""Public URLs of the follow-up (no login), under the calls' public pages: a call's figures, when its ARS opened
them (``Call.public_statistics``)."""

from django.urls import path

from . import views_statistics

app_name = "figures"
urlpatterns = [
    path("<slug:slug>/chiffres/", views_statistics.public_call_statistics, name="call"),
]
