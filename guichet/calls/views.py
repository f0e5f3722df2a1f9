"""Public pages of calls: the list of open calls and a call's notice."""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from .models import Call


def call_list(request):
    now = timezone.now()
    calls = Call.objects.calls().filter(published=True).select_related("region").order_by("-closes_at")
    return render(request, "calls/list.html", {
        "open_calls": [c for c in calls if c.is_open(now)],
        "other_calls": [c for c in calls if not c.is_open(now)],
        "page_title": "Appels à projets", "nav": "calls",
    })


def call_detail(request, slug):
    call = get_object_or_404(Call.objects.calls().filter(published=True).select_related("region"), slug=slug)
    return render(request, "calls/detail.html", {"call": call, "page_title": call.title, "nav": "calls",
                                                 "is_open": call.is_open()})
