"""Applicant pages for their establishments: list, attach by FINESS, manual entry, detach, search."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from .directory import search_establishments
from .forms import AttachForm, ManualEstablishmentForm
from .identifiers import is_valid_finess, normalize
from .models import Establishment, EstablishmentAccess, LegalEntity, Source


def _attach(request, establishment: Establishment) -> None:
    _, created = EstablishmentAccess.objects.get_or_create(user=request.user, establishment=establishment)
    if created:
        messages.success(request, f"L'établissement « {establishment.name} » (FINESS {establishment.finess}) "
                                  "est rattaché à votre compte.")
    else:
        messages.info(request, f"L'établissement « {establishment.name} » est déjà rattaché à votre compte.")


def _mine_context(request, form):
    establishments = (request.user.establishments.select_related("legal_entity", "region")
                      .order_by("name", "finess"))
    return {"establishments": establishments, "form": form, "page_title": "Mes établissements",
            "nav": "establishments"}


@login_required
def my_establishments(request):
    """List the user's establishments; POST attaches one by FINESS (works without JavaScript)."""
    if request.method == "POST":
        form = AttachForm(request.POST)
        if form.is_valid():
            finess = form.cleaned_data["finess"]
            establishment = Establishment.objects.filter(finess=finess).first()
            if establishment is None:
                return redirect(f"{reverse('establishments:create')}?{urlencode({'finess': finess})}")
            _attach(request, establishment)
            return redirect("establishments:mine")
        status = 400
    else:
        form = AttachForm()
        status = 200
    return render(request, "establishments/mine.html", _mine_context(request, form), status=status)


@login_required
def create_manual(request):
    """Enter by hand an establishment with a valid FINESS that the directory does not know."""
    if request.method == "POST":
        form = ManualEstablishmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            existing = Establishment.objects.filter(finess=data["finess"]).first()
            if existing is not None:  # known after all (directory import, another user): just attach
                _attach(request, existing)
                return redirect("establishments:mine")
            try:
                with transaction.atomic():
                    establishment = _create_establishment(data)
            except IntegrityError:  # created concurrently
                establishment = Establishment.objects.get(finess=data["finess"])
            _attach(request, establishment)
            return redirect("establishments:mine")
        status = 400
    else:
        finess = normalize(request.GET.get("finess", ""))
        form = ManualEstablishmentForm(initial={"finess": finess} if is_valid_finess(finess) else {})
        status = 200
    return render(request, "establishments/manual.html", {
        "form": form, "page_title": "Saisir un établissement", "nav": "establishments",
    }, status=status)


def _create_establishment(data) -> Establishment:
    legal_entity = None
    if data["ej_finess"]:
        legal_entity, _ = LegalEntity.objects.get_or_create(finess=data["ej_finess"], defaults={
            "name": data["ej_name"] or data["name"],
            "siren": data["siret"][:9] if data["siret"] else "",
            "legal_status": data["legal_status"],
            "source": Source.MANUAL,
        })
    return Establishment.objects.create(
        finess=data["finess"], name=data["name"], sector=data["sector"], legal_status=data["legal_status"],
        department=data["department"], region=data["region"], siret=data["siret"] or "",
        legal_entity=legal_entity, source=Source.MANUAL,
    )


@login_required
@require_POST
def detach(request, pk):
    """Remove the user's link to an establishment (the establishment itself stays in the directory)."""
    access = get_object_or_404(EstablishmentAccess.objects.select_related("establishment"),
                               user=request.user, establishment_id=pk)
    name = access.establishment.name
    access.delete()
    messages.success(request, f"L'établissement « {name} » n'est plus rattaché à votre compte.")
    return redirect("establishments:mine")


@login_required
@require_GET
def search(request):
    """htmx fragment: directory establishments matching a FINESS prefix or a name."""
    query = (request.GET.get("q") or request.GET.get("finess") or "").strip()[:100]
    results = list(search_establishments(query, limit=10))
    attached = set(request.user.establishments.filter(pk__in=[e.pk for e in results])
                   .values_list("pk", flat=True))
    return render(request, "establishments/_suggestions.html", {
        "query": query, "results": results, "attached": attached,
    })
