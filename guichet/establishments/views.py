"""Applicant pages for their establishments: claims by FINESS, manual entry, members, and the ARS queue.

Thin views over ``claims`` (who may act for an establishment, who decides): a claim gives no access until
it is accepted; confirmed memberships only appear under « Établissements pour lesquels vous agissez ».
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from guichet.accounts.permissions import is_ars_staff

from . import claims
from .directory import search_establishments
from .forms import AttachForm, ManualEstablishmentForm, RefuseForm
from .identifiers import is_valid_finess, normalize
from .models import (
    Establishment,
    EstablishmentAccess,
    GrantedVia,
    LegalEntity,
    MembershipRequest,
    MembershipRole,
    RequestStatus,
    Source,
)


def _claim(request, establishment: Establishment, data) -> bool:
    """Claim ``establishment``; False (with the error on ``data``'s form) when the input is refused."""
    try:
        outcome = claims.claim(request.user, establishment, data.get("function", ""), data.get("message", ""),
                               request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    name = f"« {establishment.name} » (FINESS {establishment.finess})"
    if outcome.access is not None and outcome.created:
        how = ("vous êtes référent de son entité juridique" if outcome.access.granted_via == GrantedVia.REFERENT
               else "votre identité ProConnect correspond à son organisation")
        messages.success(request, f"Vous agissez désormais pour l'établissement {name}, en tant que référent : "
                                  f"{how}.")
    elif outcome.access is not None:
        messages.info(request, f"Vous agissez déjà pour l'établissement {name}.")
    elif outcome.created:
        messages.success(request, f"Votre demande de rattachement à l'établissement {name} est envoyée à "
                                  f"{claims.decider_label(establishment)}. Vous pourrez agir pour lui une fois "
                                  "la demande acceptée.")
    else:
        messages.info(request, f"Votre demande de rattachement à l'établissement {name} est déjà en attente.")
    return True


def _mine_context(request, form):
    user = request.user
    accesses = list(EstablishmentAccess.objects.filter(user=user)
                    .select_related("establishment__legal_entity", "establishment__region")
                    .order_by("establishment__name", "establishment__finess"))
    for access in accesses:
        access.manages = claims.can_manage(user, access.establishment)
    my_requests = list(MembershipRequest.objects.filter(user=user, status__in=[RequestStatus.PENDING,
                                                                                 RequestStatus.REFUSED])
                       .select_related("establishment__region", "decided_by")[:50])
    for req in my_requests:
        req.decider = claims.decider_label(req.establishment) if req.is_pending else ""
    return {"accesses": accesses, "my_requests": my_requests,
            "to_decide": list(claims.requests_to_decide(user).order_by("created_at")[:200]),
            "form": form, "page_title": "Mes établissements", "nav": "establishments"}


@login_required
def my_establishments(request):
    """The user's establishments and claims, the claims they decide; POST claims one by FINESS (works
    without JavaScript)."""
    if request.method == "POST":
        form = AttachForm(request.POST)
        if form.is_valid():
            finess = form.cleaned_data["finess"]
            establishment = Establishment.objects.filter(finess=finess).first()
            if establishment is None:
                return redirect(f"{reverse('establishments:create')}?{urlencode({'finess': finess})}")
            _claim(request, establishment, form.cleaned_data)
            return redirect("establishments:mine")
        status = 400
    else:
        form = AttachForm()
        status = 200
    return render(request, "establishments/mine.html", _mine_context(request, form), status=status)


@login_required
def create_manual(request):
    """Enter by hand an establishment with a valid FINESS that the directory does not know: it is created,
    with a pending claim only (decided like any other, by the ARS of the region chosen while nobody
    manages it)."""
    if request.method == "POST":
        form = ManualEstablishmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            existing = Establishment.objects.filter(finess=data["finess"]).first()
            if existing is not None:  # known after all (directory import, another user): just claim it
                _claim(request, existing, data)
                return redirect("establishments:mine")
            try:
                with transaction.atomic():
                    establishment = _create_establishment(data)
            except IntegrityError:  # created concurrently
                establishment = Establishment.objects.get(finess=data["finess"])
            _claim(request, establishment, data)
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
    """The user stops acting for an establishment (the establishment itself stays in the directory)."""
    establishment = get_object_or_404(Establishment, pk=pk, members=request.user)
    claims.leave(request.user, establishment, request=request)
    messages.success(request, f"Vous n'agissez plus pour l'établissement « {establishment.name} ».")
    return redirect("establishments:mine")


@login_required
@require_GET
def search(request):
    """htmx fragment: directory establishments matching a FINESS prefix or a name."""
    query = (request.GET.get("q") or request.GET.get("finess") or "").strip()[:100]
    results = list(search_establishments(query, limit=10))
    ids = [e.pk for e in results]
    attached = set(request.user.establishments.filter(pk__in=ids).values_list("pk", flat=True))
    pending = set(MembershipRequest.objects.filter(user=request.user, establishment_id__in=ids,
                                                   status=RequestStatus.PENDING).values_list("establishment_id",
                                                                                             flat=True))
    return render(request, "establishments/_suggestions.html", {
        "query": query, "results": results, "attached": attached, "pending": pending,
    })


# --- Deciding claims -----------------------------------------------------------------------------

def _decidable(request, pk) -> MembershipRequest:
    """A pending claim the user decides; 404 for anyone else (a claim's existence is nobody else's business)."""
    req = get_object_or_404(MembershipRequest.objects.select_related("establishment__region", "user"), pk=pk,
                            status=RequestStatus.PENDING)
    if req.user_id == request.user.pk or not claims.can_decide(request.user, req.establishment):
        raise Http404
    return req


def _back(request):
    return redirect("establishments:ars_claims" if is_ars_staff(request.user) else "establishments:mine")


@login_required
@require_POST
def request_accept(request, pk):
    req = _decidable(request, pk)
    access = claims.accept(request.user, req, request=request)
    messages.success(request, f"{req.user.email} agit désormais pour « {req.establishment.name} », en tant que "
                              f"{access.get_role_display().lower()}.")
    return _back(request)


@login_required
def request_refuse(request, pk):
    """The refusal form (a reason is required); POST refuses."""
    req = _decidable(request, pk)
    form = RefuseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claims.refuse(request.user, req, form.cleaned_data["reason"], request=request)
        except ValidationError as exc:
            form.add_error("reason", exc.messages)
        else:
            messages.success(request, f"La demande de {req.user.email} est refusée ; le motif lui est envoyé.")
            return _back(request)
    return render(request, "establishments/refuse.html", {
        "req": req, "form": form, "page_title": "Refuser une demande de rattachement",
        "nav": "claims" if is_ars_staff(request.user) else "establishments",
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def request_withdraw(request, pk):
    req = get_object_or_404(MembershipRequest, pk=pk, user=request.user, status=RequestStatus.PENDING)
    claims.withdraw(request.user, req, request=request)
    messages.success(request, f"Votre demande de rattachement à « {req.establishment.name} » est retirée.")
    return redirect("establishments:mine")


@login_required
def ars_claims(request):
    """ARS staff: the first claims on their region's establishments that nobody manages yet."""
    if not is_ars_staff(request.user):
        raise PermissionDenied
    pending = claims.first_claims_for_ars(request.user).order_by("created_at")[:500]
    return render(request, "establishments/ars_claims.html", {
        "pending": pending, "page_title": "Premières demandes de rattachement", "nav": "claims",
    })


# --- Members -------------------------------------------------------------------------------------

@login_required
def members(request, pk):
    """The members of an establishment: for its members (read) and its referents (remove, name referent)."""
    establishment = get_object_or_404(Establishment.objects.select_related("legal_entity", "region"), pk=pk)
    manages = claims.can_manage(request.user, establishment)
    if not manages and not establishment.members.filter(pk=request.user.pk).exists():
        raise Http404
    return render(request, "establishments/members.html", {
        "establishment": establishment, "manages": manages,
        "accesses": establishment.establishmentaccess_set.select_related("user", "granted_by")
        .order_by("-role", "user__email"),
        "pending": establishment.membership_requests.filter(status=RequestStatus.PENDING).select_related("user")
        if manages else [],
        "page_title": f"Membres — {establishment.name}", "nav": "establishments",
        "referent": MembershipRole.REFERENT,
    })


def _managed_access(request, access_pk) -> EstablishmentAccess:
    access = get_object_or_404(EstablishmentAccess.objects.select_related("establishment", "user"), pk=access_pk)
    if not claims.can_manage(request.user, access.establishment):
        raise Http404
    return access


@login_required
@require_POST
def member_remove(request, access_pk):
    access = _managed_access(request, access_pk)
    try:
        claims.remove_member(request.user, access, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{access.user.email} n'agit plus pour « {access.establishment.name} ».")
    return redirect("establishments:members", pk=access.establishment_id)


@login_required
@require_POST
def member_promote(request, access_pk):
    access = _managed_access(request, access_pk)
    claims.promote(request.user, access, request=request)
    messages.success(request, f"{access.user.email} est désormais référent de « {access.establishment.name} ».")
    return redirect("establishments:members", pk=access.establishment_id)
