"""Applicant pages for their establishments."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def my_establishments(request):
    establishments = request.user.establishments.select_related("legal_entity").order_by("name")
    return render(request, "establishments/mine.html", {"establishments": establishments,
                                                        "page_title": "Mes établissements", "nav": "establishments"})
