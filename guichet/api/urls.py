"""URLs of the REST API, mounted at ``/api/v1/`` by the project's URL map."""

from django.urls import path

from guichet.api.api import api

urlpatterns = [path("", api.urls)]
