"""Creating and activating grants: the one way in for the commission, the admin and the API."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from guichet.commission.actions import finess_mentioned
from guichet.core import audit

from .models import Grant, GrantAction, GrantStatus


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


