"""One dossier per establishment and application call — the rule of seed 003, in one place.

« Un dossier unique CLACT sera fourni à l'ARS par établissement ou structure » (Grand Est guide), and a
dossier carried by a porteur for parties prenantes counts for each of them. So an establishment stands in at
most one *standing* dossier of a call, as porteur or partie prenante. Standing: filed and not turned down —
en construction, en instruction or accepté. An accepted dossier is the one the ARS funds: a second one
would be funded twice. A refused or classé sans suite dossier no longer stands (the establishment may file
again while the call is open); reopening it is checked like a filing.

Drafts are free: the check runs when a dossier is filed, when a partie prenante is added (at the start or
later) and when a decided dossier is reopened. Two of these at once must not both pass: the establishments'
rows are locked (PostgreSQL) in a fixed order before the check; SQLite runs every transaction IMMEDIATE
(settings), so writers are serialised anyway.

Proofs calls (``CallKind.PROOFS``) are not concerned: seed 001 asks a proofs dossier per funded call
(« l'appel à projets CLACT QVT concerné » is part 2 of its form) and its proofs arrive in several payment
windows, so one establishment rightly has several proofs dossiers on one budget year's call.
"""

from django.core.exceptions import ValidationError

from .models import Dossier, State

STANDING = (State.EN_CONSTRUCTION, State.EN_INSTRUCTION, State.ACCEPTE)


class DuplicateDossier(ValidationError):
    """An establishment already stands in another dossier of the call; the message names it."""


def concerned(call) -> bool:
    from guichet.calls.models import CallKind

    return call.kind == CallKind.APPLICATION


def lock(establishment_ids) -> None:
    """Lock the establishments' rows, in primary-key order (no deadlock between two filings)."""
    from guichet.establishments.models import Establishment

    list(Establishment.objects.select_for_update().filter(pk__in=list(establishment_ids)).order_by("pk")
         .values_list("pk", flat=True))


def lock_establishments_of(dossier) -> list:
    """The dossier's establishments, porteur first then parties prenantes, read with their rows locked in
    primary-key order (as ``lock``) — one query where reading them and locking them took two; none for a dossier
    read knowing it has no partie prenante (``services.with_context``) on a database that has no row locks
    (SQLite, whose writers are serialised anyway)."""
    from django.db import connection
    from django.db.models import Q

    from guichet.establishments.models import Establishment

    if getattr(dossier, "has_partners", True) is False:
        if connection.features.has_select_for_update:
            lock([dossier.establishment_id])
        return [dossier.establishment]

    partners = Dossier.partners.through.objects.filter(dossier_id=dossier.pk).values("establishment_id")
    rows = list(Establishment.objects.select_for_update()
                .filter(Q(pk=dossier.establishment_id) | Q(pk__in=partners)).order_by("pk"))
    return ([e for e in rows if e.pk == dossier.establishment_id]
            + [e for e in rows if e.pk != dossier.establishment_id])


def standing_dossier(call, establishment, exclude=None) -> Dossier | None:
    """The standing dossier of ``call`` in which ``establishment`` is porteur or partie prenante (but
    ``exclude``), or None."""
    from django.db.models import Q

    found = (Dossier.objects.filter(call=call, state__in=STANDING)
             .filter(Q(establishment=establishment) | Q(partners=establishment)))
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return found.order_by("first_filed_at", "pk").first()


def refusal(call, establishments, exclude=None) -> str | None:
    """Why these establishments cannot stand in one more dossier of ``call`` (besides ``exclude``), or None."""
    if not concerned(call):
        return None
    for establishment in establishments:
        other = standing_dossier(call, establishment, exclude)
        if other is None:
            continue
        role = "porteur" if other.establishment_id == establishment.pk else "partie prenante"
        return (f"L'établissement {establishment.name} (FINESS {establishment.finess}) figure déjà, comme "
                f"{role}, dans le dossier n° {other} déposé sur cet appel à projets "
                f"(« {other.get_state_display()} »). Un seul dossier par établissement et par appel à projets "
                f"est accepté : les actions de cet établissement vont dans le dossier n° {other}.")
    return None


def check(call, establishments, exclude=None) -> None:
    """Raise ``DuplicateDossier`` unless ``refusal`` is None; locks the establishments first (call it inside
    the transaction that writes)."""
    establishments = list(establishments)
    if not concerned(call) or not establishments:
        return
    lock(e.pk for e in establishments)
    message = refusal(call, establishments, exclude)
    if message:
        raise DuplicateDossier(message)
