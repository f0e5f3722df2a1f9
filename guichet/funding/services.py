"""Creating and activating grants, and setting a convention's total: the one way in for the commission,
the import, the admin, the pages and the API."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from guichet.accounts.permissions import is_ars_of
from guichet.commission.actions import finess_mentioned
from guichet.core import audit
from guichet.core.money import euros

from .models import Grant, GrantAction, GrantStatus, Payment, PaymentStatus

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def convention_reference(item) -> str:
    """« CLACT-<dossier number> » (the number holds the call's year and the region's code)."""
    return f"CLACT-{item.dossier.number or item.dossier.pk}"


def grant_from_item(item, now=None) -> Grant:
    """The grant of a dossier the commission accepted: the porteur as beneficiary, one action per
    action granted, its ceiling the granted amount, the establishments each action concerns (those of
    the dossier named in its answer, else the porteur)."""
    now = now or timezone.now()
    dossier, session = item.dossier, item.session
    call = session.call
    lines = [line for line in item.lines.all() if (line.granted or 0) > 0]
    porteur = dossier.establishment
    known = {e.finess: e for e in dossier.establishments}
    grant = Grant.objects.create(
        region_id=call.region_id, call=call, call_year=call.year, dossier=dossier, session=session,
        beneficiary=porteur, legal_entity_id=porteur.legal_entity_id, rate=call.cofinancing_rate,
        total=sum(line.granted for line in lines), convention_kind=item.convention_kind,
        convention_reference=convention_reference(item), convention_starts_on=session.convention_starts_on,
        convention_ends_on=session.convention_ends_on, decided_at=now)
    actions = GrantAction.objects.bulk_create(
        GrantAction(grant=grant, position=position, title=line.title, ceiling=line.granted,
                    eligible_cost=line.eligible_cost, establishments_text=line.establishments)
        for position, line in enumerate(lines, start=1))
    through = GrantAction.establishments.through
    through.objects.bulk_create(
        through(grantaction_id=action.pk, establishment_id=establishment.pk)
        for action, line in zip(actions, lines, strict=True)
        for establishment in ([known[f] for f in dict.fromkeys(finess_mentioned(line.establishments)) if f in known]
                              or [porteur]))
    return grant


def activate(grant: Grant, user, signed_on, document=None) -> Grant:
    """The convention signed by both parties is back: the grant becomes active (payments may follow)."""
    if grant.status == GrantStatus.CLOSED:
        raise ValidationError("Cette subvention est clôturée.")
    if not (Grant.objects.visible_to(user).filter(pk=grant.pk).exists()):
        raise PermissionDenied("Cette subvention n'est pas la vôtre.")
    if signed_on is None:
        raise ValidationError({"signed_on": "Indiquez la date de signature de la convention."})
    if signed_on > timezone.localdate():
        raise ValidationError({"signed_on": "La date de signature ne peut pas être dans le futur."})
    with transaction.atomic():
        grant.convention_signed_on = signed_on
        if grant.status == GrantStatus.AWAITING_SIGNATURE:
            grant.status, grant.activated_at = GrantStatus.ACTIVE, timezone.now()
        grant.save(update_fields=["convention_signed_on", "status", "activated_at"])
        audit.record(user, "grant:signed", dossier=grant.dossier, grant=grant.pk,
                     document=document.pk if document else None, signed_on=signed_on.isoformat())
    return grant




def check_total(total, ceilings: Decimal, used: Decimal) -> Decimal:
    """The convention's total as the ARS may set it: euros and cents, above zero, at most the sum of the
    actions' ceilings (the convention cannot give more than its actions), at least what is already paid or
    ordered (that money is gone). ``ValidationError`` at the field « total » otherwise, in French. Shared
    by the grant page, the API and the import."""
    if total is None or total == "":
        raise ValidationError({"total": "Indiquez le montant total de la convention."})
    try:
        total = Decimal(total)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({"total": "Saisissez un montant en euros, par exemple 12 000,50."}) from None
    if not total.is_finite() or total != total.quantize(CENT):
        raise ValidationError({"total": "Le montant s'écrit en euros et centimes, deux décimales au plus."})
    if total <= 0:
        raise ValidationError({"total": "Le montant total de la convention doit être supérieur à 0."})
    if total > ceilings:
        raise ValidationError({"total": f"Le montant total ({euros(total)}) ne peut pas dépasser la somme des "
                                        f"plafonds des actions ({euros(ceilings)})."})
    if total < used:
        raise ValidationError({"total": f"Le montant total ({euros(total)}) ne peut pas être inférieur à ce qui est "
                                        f"déjà versé ou ordonnancé sur la subvention ({euros(used)})."})
    return total.quantize(CENT)


def set_total(grant: Grant, user, total, reason: str, request=None) -> Grant:
    """The ARS of the grant's region sets the convention's total (lower than the sum of the ceilings when
    the convention says so), with a reason, recorded in the audit trail. What is merely scheduled on the
    grant is recomputed at once (the engine caps by the total); what is ordered or paid never changes."""
    from . import payments

    if not is_ars_of(user, grant.region_id):
        raise PermissionDenied("Seule l'ARS de la région fixe le montant total d'une subvention.")
    reason = (reason or "").strip()
    errors = {}
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
        if grant.status == GrantStatus.CLOSED:
            raise ValidationError("Cette subvention est clôturée : son montant total ne change plus.")
        actions = list(grant.actions.all())
        ceilings = sum((a.ceiling for a in actions), ZERO)
        used = sum((a.paid_before for a in actions), ZERO) + (
            Payment.objects.filter(action__grant=grant, status__in=(PaymentStatus.ORDERED, PaymentStatus.PAID))
            .aggregate(s=Sum("amount"))["s"] or ZERO)
        try:
            total = check_total(total, ceilings, used)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if not reason:
            errors["reason"] = "Indiquez le motif : par exemple, le montant total inscrit dans la convention signée."
        elif len(reason) > 300:
            errors["reason"] = "Le motif tient en 300 caractères au plus."
        if errors:
            raise ValidationError(errors)
        before = grant.total
        grant.total = total
        grant.save(update_fields=["total"])
        audit.record(user, "grant:total", dossier=grant.dossier_id, request=request, obj=grant,
                     before=str(before), after=str(total), reason=reason)
        # Settle again what is scheduled on the grant (the grant is locked above).
        payments.settle(grant)
    return grant
