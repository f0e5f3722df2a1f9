"""ARS pages of the grants: the list of the region's grants, with what remains on each (the import is in
``views_import``, a grant's page and its total in ``views_payments``)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import DecimalField, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import render

from . import balances
from .models import Grant
from .views_import import staff_or_403

PER_PAGE = 50


@login_required
def grant_list(request):
    """The grants of the user's region: reference, beneficiary, year, total, paid before, status."""
    staff_or_403(request)
    grants = (Grant.objects.visible_to(request.user).select_related("beneficiary", "region")
              .annotate(paid=Coalesce(Sum("actions__paid_before"),
                                      Value(0, output_field=DecimalField(max_digits=14, decimal_places=2))))
              .order_by("-call_year", "convention_reference"))
    page = Paginator(grants, PER_PAGE).get_page(request.GET.get("page"))
    found, _ = balances.compute(page.object_list)
    for grant in page.object_list:
        grant.summary = found[grant.pk]
    return render(request, "funding/grant_list.html", {
        "page": page, "grants": page.object_list, "page_title": "Subventions", "nav": "funding",
    })
