"""Applicant pages for dossiers."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def my_dossiers(request):
    return render(request, "dossiers/mine.html", {"dossiers": [], "nav": "dossiers"})


@login_required
def start(request, slug):
    raise NotImplementedError
