"""Pages that belong to no step of the lifecycle: the home page."""

from django.shortcuts import render

from guichet.calls.models import Call


def home(request):
    open_calls = Call.objects.open_at().select_related("region").order_by("closes_at")
    return render(request, "core/home.html", {"open_calls": open_calls, "page_title": "Accueil"})
