"""Pages that belong to no step of the lifecycle: the home page, one per role (see ``dashboards``)."""

from django.shortcuts import render

from . import dashboards


def home(request):
    return render(request, "core/home.html", {**dashboards.for_user(request.user), "page_title": "Accueil",
                                              "nav": "home"})
