"""Who may act for an establishment: claims (*demandes de rattachement*), who decides them, and members.

A FINESS number is public, so knowing one proves nothing. Acting for an establishment (seeing its grants,
ceilings, payment ledger and conventions, starting application or proofs dossiers in its name) requires a
CONFIRMED membership, an ``EstablishmentAccess`` row; a claim is a ``MembershipRequest`` and gives no access
at all while it is pending, refused, withdrawn or cancelled. Every page, the API and the services keep
going through ``Establishment.members`` / ``user.establishments``, which therefore hold confirmed members only.

Who confirms a claim, following public-sector practice (the State trusts an organisation's own managers,
and the ARS knows the establishments of its region):

1. The establishment already has referents (*référents*), or another establishment of the same legal entity
   (EJ) has: those referents decide. An establishment's director knows who works there; the legal entity's
   managers may vouch for its sites. Accepted this way, the claimant becomes a member (a referent may name
   them referent afterwards).
2. Nobody manages it yet: the ARS of the establishment's region confirms or refuses this first claim (its
   staff, through ``accounts.permissions.is_ars_of``; the platform's superusers when the region is unknown).
   The ARS deals with these establishments every year and can call them back; the claimant accepted this
   way becomes the establishment's first referent.
3. The claimant already manages it: a referent of another site of the same legal entity claiming this one
   is accepted at once, as referent (they would decide the claim anyway).
4. The claimant's identity vouches for the organisation: they logged in through ProConnect (the State's
   identity federation, whose accounts are tied to an organisation checked against the SIRENE directory)
   and the ``siret`` of that login is the establishment's SIRET, or belongs to the legal entity's SIREN, as
   the directory gives them (a number typed by an applicant proves nothing). Then the claim is accepted at
   once, as referent (``identity_vouches``).

Referents of the establishment or of its legal entity accept and refuse requests (a refusal needs a
reason), remove members and name other members referent; a member may leave. Someone who no longer acts
for the establishment no longer reaches the dossiers it carries either: ``membership_ended`` is sent inside
the transaction, and the dossier layer (which this layer must not import) takes them off those dossiers.
Every change is written to the audit trail (``establishment:*`` actions) and e-mailed after commit to the
establishment's referents, and to the requester on a decision. Views, the admin and commands call the
functions below; none of them writes ``EstablishmentAccess`` or ``MembershipRequest`` rows themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from guichet.accounts.permissions import is_ars_of
from guichet.core import audit

from . import notifications
from .identifiers import normalize
from .models import (
    FUNCTION_MAX,
    MESSAGE_MAX,
    REASON_MAX,
    Establishment,
    EstablishmentAccess,
    GrantedVia,
    MembershipRequest,
    MembershipRole,
    RequestStatus,
    Source,
)

PROCONNECT_PROVIDER = "proconnect"

# Sent inside the transaction when ``user`` stops acting for ``establishment``: removed by the referent ``by``,
# or left of their own accord (``by`` is None). Receivers take them off what they reached as a member.
membership_ended = Signal()

NOT_YOURS = "Vous ne pouvez pas décider de cette demande de rattachement."
NOT_PENDING = "Cette demande de rattachement a déjà été traitée."
REASON_REQUIRED = "Indiquez le motif du refus : il est communiqué au demandeur."
NOT_MANAGER = "Seuls les référents de l'établissement ou de son entité juridique gèrent ses membres."


@dataclass(frozen=True)
class ClaimOutcome:
    """What a claim led to: ``access`` when the user acts for the establishment now (already a member, or
    vouched for by ProConnect), else the pending ``request``."""

    access: EstablishmentAccess | None = None
    request: MembershipRequest | None = None
    created: bool = False


# --- Who manages, who decides --------------------------------------------------------------------

def _managed_by_referents_q(prefix: str = "") -> Q:
    """Establishments (``prefix`` leads to one) with a referent of their own or of their legal entity."""
    referent = EstablishmentAccess.objects.filter(role=MembershipRole.REFERENT, user__is_active=True)
    own = Exists(referent.filter(establishment_id=OuterRef(f"{prefix}pk")))
    sibling = Exists(referent.filter(establishment__legal_entity_id=OuterRef(f"{prefix}legal_entity_id")))
    return Q(own) | Q(sibling)


def referent_accesses(establishment: Establishment) -> QuerySet[EstablishmentAccess]:
    """The referent memberships that manage ``establishment``: its own and its legal entity's sites'. A
    deactivated account manages nothing (its establishment goes back to the ARS if it was the only one)."""
    scope = Q(establishment=establishment)
    if establishment.legal_entity_id:
        scope |= Q(establishment__legal_entity_id=establishment.legal_entity_id)
    return EstablishmentAccess.objects.filter(scope, role=MembershipRole.REFERENT, user__is_active=True)


def referents(establishment: Establishment):
    """The users who manage ``establishment`` (see ``referent_accesses``), without duplicates."""
    user_ids = referent_accesses(establishment).values("user_id")
    return get_user_model().objects.filter(pk__in=user_ids, is_active=True).order_by("email")


def decided_by_ars(establishment: Establishment) -> bool:
    """True while nobody manages ``establishment``: then its region's ARS decides the first claim."""
    return not referent_accesses(establishment).exists()


def can_manage(user, establishment: Establishment) -> bool:
    """True for a referent of ``establishment`` or of its legal entity (accept, refuse, remove, promote)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return referent_accesses(establishment).filter(user=user).exists()


def _ars_decides_for(user, establishment: Establishment) -> bool:
    if establishment.region_id is None:
        return bool(user.is_superuser)
    return is_ars_of(user, establishment.region_id)


def can_decide(user, establishment: Establishment) -> bool:
    """Who decides a claim on ``establishment``: its referents (or its legal entity's); when it has none,
    the ARS of its region (superusers when the region is unknown)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if decided_by_ars(establishment):
        return _ars_decides_for(user, establishment)
    return can_manage(user, establishment)


def decider_label(establishment: Establishment) -> str:
    """Who will decide, in the words the claimant reads."""
    if not decided_by_ars(establishment):
        return "les référents de l'établissement"
    if establishment.region_id is None:
        return "l'équipe de la plateforme"
    return f"l'ARS {establishment.region.name}"


def requests_to_decide(user) -> QuerySet[MembershipRequest]:
    """The pending claims ``user`` decides as a referent (of the establishment or its legal entity)."""
    pending = MembershipRequest.objects.filter(status=RequestStatus.PENDING)
    if user is None or not user.is_authenticated:
        return pending.none()
    mine = EstablishmentAccess.objects.filter(user=user, role=MembershipRole.REFERENT)
    sites = mine.values("establishment_id")
    entities = mine.filter(establishment__legal_entity__isnull=False).values("establishment__legal_entity_id")
    return (pending.filter(Q(establishment_id__in=sites) | Q(establishment__legal_entity_id__in=entities))
            .exclude(user=user).select_related("user", "establishment"))


def first_claims_for_ars(user) -> QuerySet[MembershipRequest]:
    """The pending first claims ``user`` decides as ARS staff: establishments of their region that nobody
    manages yet (a superuser: every region, and establishments whose region is unknown)."""
    pending = (MembershipRequest.objects.filter(status=RequestStatus.PENDING)
               .exclude(_managed_by_referents_q("establishment__"))
               .select_related("user", "establishment__region", "establishment__legal_entity"))
    if user is None or not user.is_authenticated or not user.is_active:
        return pending.none()
    if user.is_superuser:
        return pending
    if not user.is_ars_staff or user.region_id is None:
        return pending.none()
    return pending.filter(establishment__region_id=user.region_id)


# --- Identity that vouches (ProConnect) ----------------------------------------------------------

def _digits(value) -> str:
    return "".join(ch for ch in normalize(str(value or "")) if ch.isdigit())


def identity_vouches(user, establishment: Establishment) -> bool:
    """True when ``user`` logged in through ProConnect and the organisation of that identity is the
    establishment: the ``siret`` claim ProConnect returned (kept by allauth in the social account's
    ``extra_data``, from its signed userinfo) is the establishment's SIRET, or its SIREN
    is the legal entity's SIREN. False when allauth's social accounts are not installed, for anyone else,
    and for numbers typed by an applicant: an establishment or legal entity entered by hand (not from the
    directory) carries the SIRET its claimant chose, so it proves nothing (the ARS confirms those)."""
    if not apps.is_installed("allauth.socialaccount") or user is None or not user.is_authenticated:
        return False
    if establishment.source != Source.DIRECTORY:
        return False
    from allauth.socialaccount.models import SocialAccount

    # The provider module (guichet/accounts/proconnect) keeps the verified claim as extra_data["siret"]:
    # 14 digits checked with python-stdnum, or "" when ProConnect sent none or an invalid one.
    sirets = {extra.get("siret") for extra in SocialAccount.objects.filter(
        user=user, provider=PROCONNECT_PROVIDER).values_list("extra_data", flat=True) if isinstance(extra, dict)}
    sirets = {s for s in sirets if isinstance(s, str) and len(s) == 14}
    if not sirets:
        return False
    if establishment.siret and _digits(establishment.siret) in sirets:
        return True
    entity = establishment.legal_entity
    siren = entity.siren if entity is not None and entity.source == Source.DIRECTORY else ""
    return bool(siren) and _digits(siren) in {s[:9] for s in sirets}


# --- Claims --------------------------------------------------------------------------------------

def _bounded(value, limit: int, field: str, label: str) -> str:
    text = " ".join(str(value or "").split()) if field == "function" else str(value or "").strip()
    if len(text) > limit:
        raise ValidationError({field: f"{label} : {limit} caractères au plus (vous en avez saisi {len(text)})."})
    return text


def _notify(subject: str, template: str, recipients, **context) -> None:
    emails = sorted({r.email if hasattr(r, "email") else r for r in recipients} - {""})
    if emails:
        transaction.on_commit(lambda: notifications.send(subject, template, emails, context))


def _context(establishment: Establishment, **more) -> dict:
    return {"establishment_name": establishment.name, "finess": establishment.finess, **more}


@transaction.atomic
def claim(user, establishment: Establishment, function: str = "", message: str = "", request=None) -> ClaimOutcome:
    """``user`` asks to act for ``establishment``. Already a member: nothing changes. A ProConnect identity
    that vouches for the organisation: accepted at once, as referent. Otherwise one pending request (a
    second claim while one is pending returns it), decided by ``can_decide``."""
    function = _bounded(function, FUNCTION_MAX, "function", "Fonction")
    message = _bounded(message, MESSAGE_MAX, "message", "Message")
    existing = EstablishmentAccess.objects.filter(user=user, establishment=establishment).first()
    if existing is not None:
        return ClaimOutcome(access=existing)
    pending = MembershipRequest.objects.filter(user=user, establishment=establishment,
                                               status=RequestStatus.PENDING).first()
    if can_manage(user, establishment):  # a referent of the legal entity already manages its other sites
        access = EstablishmentAccess.objects.create(user=user, establishment=establishment,
                                                    role=MembershipRole.REFERENT, granted_by=user,
                                                    granted_via=GrantedVia.REFERENT)
        if pending is not None:
            _close(pending, RequestStatus.CANCELLED, user, "Référent de l'entité juridique.")
        audit.record(user, "establishment:accept", request=request, obj=access, establishment=establishment.pk,
                     finess=establishment.finess, user=user.pk, role=access.role, via=access.granted_via)
        _notify(f"Nouveau référent — {establishment.name}", "establishments/emails/member_added.txt",
                referents(establishment).exclude(pk=user.pk),
                **_context(establishment, who=user.email, role=access.get_role_display().lower()))
        return ClaimOutcome(access=access, created=True)
    if identity_vouches(user, establishment):
        access = EstablishmentAccess.objects.create(user=user, establishment=establishment,
                                                    role=MembershipRole.REFERENT, granted_via=GrantedVia.PROCONNECT)
        if pending is not None:
            _close(pending, RequestStatus.CANCELLED, None, "Identité ProConnect de l'organisation.")
        audit.record(user, "establishment:accept", request=request, obj=access, establishment=establishment.pk,
                     finess=establishment.finess, user=user.pk, role=access.role, via=access.granted_via)
        _notify(f"Nouveau référent — {establishment.name}", "establishments/emails/vouched.txt",
                referents(establishment).exclude(pk=user.pk), **_context(establishment, who=user.email))
        return ClaimOutcome(access=access, created=True)
    if pending is not None:
        return ClaimOutcome(request=pending)
    try:
        with transaction.atomic():
            pending = MembershipRequest.objects.create(user=user, establishment=establishment, function=function,
                                                       message=message)
    except IntegrityError:  # the same claim sent twice at once: one pending request only
        return ClaimOutcome(request=MembershipRequest.objects.get(user=user, establishment=establishment,
                                                                  status=RequestStatus.PENDING))
    audit.record(user, "establishment:claim", request=request, obj=pending, establishment=establishment.pk,
                 finess=establishment.finess, decided_by="ars" if decided_by_ars(establishment) else "referents")
    _notify(f"Demande de rattachement — {establishment.name}", "establishments/emails/claim.txt",
            referents(establishment), **_context(establishment, who=user.email, function=function, message=message))
    return ClaimOutcome(request=pending, created=True)


def _close(req: MembershipRequest, status: str, decider, reason: str = "") -> None:
    req.status, req.decided_by, req.decided_at, req.reason = status, decider, timezone.now(), reason
    req.save(update_fields=["status", "decided_by", "decided_at", "reason"])


def _locked_pending(req: MembershipRequest) -> MembershipRequest:
    # of=self: PostgreSQL cannot lock the nullable side of the join to the region.
    req = (MembershipRequest.objects.select_for_update(of=("self",))
           .select_related("establishment__region", "user").get(pk=req.pk))
    if req.status != RequestStatus.PENDING:
        raise ValidationError(NOT_PENDING)
    return req


@transaction.atomic
def accept(decider, req: MembershipRequest, request=None) -> EstablishmentAccess:
    """``decider`` accepts the claim: a member when referents decided, the first referent when the ARS did."""
    req = _locked_pending(req)
    establishment = req.establishment
    by_ars = decided_by_ars(establishment)
    if req.user_id == decider.pk or not can_decide(decider, establishment):
        raise PermissionDenied(NOT_YOURS)
    role, via = ((MembershipRole.REFERENT, GrantedVia.ARS) if by_ars
                 else (MembershipRole.MEMBER, GrantedVia.REFERENT))
    access, created = EstablishmentAccess.objects.get_or_create(
        user=req.user, establishment=establishment,
        defaults={"role": role, "granted_by": decider, "granted_via": via})
    _close(req, RequestStatus.ACCEPTED, decider)
    audit.record(decider, "establishment:accept", request=request, obj=access, establishment=establishment.pk,
                 finess=establishment.finess, user=req.user_id, membership_request=req.pk, role=access.role,
                 via=access.granted_via)
    context = _context(establishment, who=req.user.email, role=access.get_role_display().lower())
    _notify(f"Demande de rattachement acceptée — {establishment.name}", "establishments/emails/accepted.txt",
            [req.user], **context)
    _notify(f"Nouveau membre — {establishment.name}", "establishments/emails/member_added.txt",
            referents(establishment).exclude(pk__in=[req.user_id, decider.pk]), **context)
    return access


@transaction.atomic
def refuse(decider, req: MembershipRequest, reason: str, request=None) -> MembershipRequest:
    """``decider`` refuses the claim, with a reason the requester reads."""
    reason = _bounded(reason, REASON_MAX, "reason", "Motif")
    req = _locked_pending(req)
    establishment = req.establishment
    if req.user_id == decider.pk or not can_decide(decider, establishment):
        raise PermissionDenied(NOT_YOURS)
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    _close(req, RequestStatus.REFUSED, decider, reason)
    audit.record(decider, "establishment:refuse", request=request, obj=req, establishment=establishment.pk,
                 finess=establishment.finess, user=req.user_id, reason=reason)
    context = _context(establishment, who=req.user.email, reason=reason)
    _notify(f"Demande de rattachement refusée — {establishment.name}", "establishments/emails/refused.txt",
            [req.user], **context)
    _notify(f"Demande de rattachement refusée — {establishment.name}", "establishments/emails/refused_referents.txt",
            referents(establishment).exclude(pk=decider.pk), **context)
    return req


@transaction.atomic
def withdraw(user, req: MembershipRequest, request=None) -> MembershipRequest:
    """The requester withdraws their own pending claim."""
    if req.user_id != user.pk:
        raise PermissionDenied("Seul le demandeur peut retirer sa demande.")
    req = _locked_pending(req)
    _close(req, RequestStatus.WITHDRAWN, user)
    audit.record(user, "establishment:withdraw", request=request, obj=req, establishment=req.establishment_id,
                 finess=req.establishment.finess)
    return req


# --- Members -------------------------------------------------------------------------------------

def _managed_access(referent, access: EstablishmentAccess) -> EstablishmentAccess:
    """``access``, locked and with its establishment, once ``referent`` is seen to manage that establishment."""
    access = (EstablishmentAccess.objects.select_for_update(of=("self",)).select_related("establishment", "user")
              .get(pk=access.pk))
    if not can_manage(referent, access.establishment):
        raise PermissionDenied(NOT_MANAGER)
    return access


@transaction.atomic
def remove_member(referent, access: EstablishmentAccess, request=None) -> None:
    """A referent removes someone's membership (``leave`` for one's own)."""
    access = _managed_access(referent, access)
    establishment = access.establishment
    if access.user_id == referent.pk:
        raise ValidationError("Pour quitter l'établissement vous-même, utilisez « Quitter l'établissement ».")
    removed, pk = access.user, access.pk
    access.delete()
    membership_ended.send(sender=EstablishmentAccess, establishment=establishment, user=removed, by=referent,
                          request=request)
    audit.record(referent, "establishment:remove", request=request, object_type="establishments.establishmentaccess",
                 object_id=pk, establishment=establishment.pk,
                 finess=establishment.finess, user=removed.pk, role=access.role)
    context = _context(establishment, who=removed.email, by=referent.email)
    _notify(f"Rattachement retiré — {establishment.name}", "establishments/emails/removed.txt", [removed], **context)
    _notify(f"Membre retiré — {establishment.name}", "establishments/emails/member_removed.txt",
            referents(establishment).exclude(pk=referent.pk), **context)


@transaction.atomic
def promote(referent, access: EstablishmentAccess, request=None) -> EstablishmentAccess:
    """A referent names a member referent too."""
    access = _managed_access(referent, access)
    establishment = access.establishment
    if access.role == MembershipRole.REFERENT:
        return access
    access.role = MembershipRole.REFERENT
    access.save(update_fields=["role"])
    audit.record(referent, "establishment:promote", request=request, obj=access, establishment=establishment.pk,
                 finess=establishment.finess, user=access.user_id)
    _notify(f"Nouveau référent — {establishment.name}", "establishments/emails/promoted.txt",
            referents(establishment).exclude(pk=referent.pk),
            **_context(establishment, who=access.user.email, by=referent.email))
    return access


@transaction.atomic
def leave(user, establishment: Establishment, request=None) -> None:
    """``user`` stops acting for ``establishment``, and for the dossiers it carries (``membership_ended``)."""
    access = EstablishmentAccess.objects.select_for_update().filter(user=user, establishment=establishment).first()
    if access is None:
        raise PermissionDenied("Vous n'êtes pas rattaché à cet établissement.")
    pk = access.pk
    access.delete()
    membership_ended.send(sender=EstablishmentAccess, establishment=establishment, user=user, by=None,
                          request=request)
    audit.record(user, "establishment:leave", request=request, object_type="establishments.establishmentaccess",
                 object_id=pk, establishment=establishment.pk, finess=establishment.finess, role=access.role)
    _notify(f"Un membre a quitté l'établissement — {establishment.name}", "establishments/emails/left.txt",
            referents(establishment), **_context(establishment, who=user.email))


# --- The platform's admin site -------------------------------------------------------------------

def admin_saved(admin_user, access: EstablishmentAccess, created: bool, request=None) -> None:
    """A membership added or changed in the admin site (platform staff): audited and told like the others."""
    establishment = access.establishment
    audit.record(admin_user, "establishment:accept" if created else "establishment:promote", request=request,
                 obj=access, establishment=establishment.pk, finess=establishment.finess, user=access.user_id,
                 role=access.role, via=GrantedVia.ADMIN)
    _notify(f"Rattachement modifié — {establishment.name}", "establishments/emails/member_added.txt",
            [access.user, *referents(establishment).exclude(pk=access.user_id)],
            **_context(establishment, who=access.user.email, role=access.get_role_display().lower()))


def admin_deleted(admin_user, access: EstablishmentAccess, request=None) -> None:
    """A membership removed in the admin site (call before deleting)."""
    establishment = access.establishment
    audit.record(admin_user, "establishment:remove", request=request,
                 object_type="establishments.establishmentaccess", object_id=access.pk,
                 establishment=establishment.pk, finess=establishment.finess, user=access.user_id, role=access.role)
    membership_ended.send(sender=EstablishmentAccess, establishment=establishment, user=access.user, by=None,
                          request=request)
    _notify(f"Membre retiré — {establishment.name}", "establishments/emails/member_removed.txt",
            [access.user, *referents(establishment).exclude(pk=access.user_id)],
            **_context(establishment, who=access.user.email, by=admin_user.email))
