"""The dossier state machine: one readable table of events, each with who may take it and its guards.

    brouillon ──(applicant files: services.file_dossier)──▶ en construction
    en construction ──passer_en_instruction──▶ en instruction            (instructor)
    en instruction ──demander_correction──▶ en construction              (instructor, message mandatory)
    en construction ──deposer_corrections──▶ en construction              (applicant, after a correction request)
    en instruction ──accepter / refuser / classer_sans_suite──▶ decided   (instructor; motivation mandatory to refuse
                                                                          or close)
    decided ──repasser_en_instruction──▶ en instruction                   (instructor)
    decided ──archiver──▶ (archived) ──desarchiver──▶ (not archived)      (instructor)

Every use — web views, the API, the admin, batch operations — goes through ``apply``: it checks
the event is allowed from the dossier's state for this user, runs the guards, writes the new
state and a history row in one transaction, and sends the notification after commit.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from guichet.accounts.permissions import is_ars_of

from . import kinds, unique
from .models import Dossier, DossierEvent, EventKind, State

DECIDED = (State.ACCEPTE, State.REFUSE, State.SANS_SUITE)
MAX_MOTIVATION = 10000  # a letter's worth; the motivation is sent to the applicant by e-mail
transitioned = Signal()  # sent inside the transaction with dossier=, event= (DossierEvent), transition=, upload=
filed = Signal()  # sent inside the transaction when a draft is filed (services.file_dossier), with dossier=, at=
INSTRUCTOR, APPLICANT = "instructor", "applicant"


class TransitionError(ValidationError):
    """An event that cannot be applied; the message says why, in French."""


def can_instruct(user, dossier: Dossier) -> bool:
    """ARS staff of the call's region (or a platform superuser)."""
    return is_ars_of(user, dossier.call.region_id)


def _is_member(user, dossier: Dossier) -> bool:
    return user.is_authenticated and dossier.members.filter(pk=user.pk).exists()


def _correction_was_requested(dossier: Dossier, **_) -> str | None:
    if not dossier.correction_requested:
        return "Aucune correction n'a été demandée sur ce dossier."
    return None


def _kind_complete(dossier: Dossier, **_) -> str | None:
    """Corrections are filed, like the dossier itself, with what its kind of call asks (``kinds``)."""
    return kinds.corrections_refusal(dossier)


def _annotations_complete(dossier: Dossier, **_) -> str | None:
    """Mandatory private annotations must be filled before a decision."""
    from guichet.instruction.annotations import missing_annotations

    missing = missing_annotations(dossier)
    if missing:
        return ("Les annotations privées obligatoires doivent être renseignées avant la décision : "
                + ", ".join(item.label for item in missing) + ".")
    return None


def _still_the_only_one(dossier: Dossier, **_) -> str | None:
    """Reopening a refused or closed dossier makes it stand again: one dossier per establishment and call."""
    if dossier.state in unique.STANDING:
        return None
    return unique.refusal(dossier.call, dossier.establishments, exclude=dossier)


def _not_archived(dossier: Dossier, **_) -> str | None:
    return "Ce dossier est archivé : désarchivez-le d'abord." if dossier.archived else None


@dataclass(frozen=True)
class Transition:
    event: str
    label: str  # the button a person clicks
    sources: tuple
    target: str | None  # None: the state does not change (archiving, corrections filed)
    actor: str
    motivation_required: bool = False
    guards: tuple[Callable, ...] = field(default_factory=tuple)
    done: str = ""  # what the history and the notification say happened


TRANSITIONS: dict[str, Transition] = {t.event: t for t in (
    Transition("passer_en_instruction", "Passer en instruction", (State.EN_CONSTRUCTION,), State.EN_INSTRUCTION,
               INSTRUCTOR, guards=(_not_archived,), done="Le dossier est passé en instruction."),
    Transition("demander_correction", "Demander une correction", (State.EN_INSTRUCTION,), State.EN_CONSTRUCTION,
               INSTRUCTOR, motivation_required=True, guards=(_not_archived,),
               done="Une correction du dossier est demandée."),
    Transition("deposer_corrections", "Déposer les corrections", (State.EN_CONSTRUCTION,), None, APPLICANT,
               guards=(_correction_was_requested, _kind_complete),
               done="Les corrections du dossier ont été déposées."),
    Transition("accepter", "Accepter", (State.EN_INSTRUCTION,), State.ACCEPTE, INSTRUCTOR,
               guards=(_not_archived, _annotations_complete), done="Le dossier est accepté."),
    Transition("refuser", "Refuser", (State.EN_INSTRUCTION,), State.REFUSE, INSTRUCTOR, motivation_required=True,
               guards=(_not_archived, _annotations_complete), done="Le dossier est refusé."),
    Transition("classer_sans_suite", "Classer sans suite", (State.EN_INSTRUCTION,), State.SANS_SUITE, INSTRUCTOR,
               motivation_required=True, guards=(_not_archived, _annotations_complete),
               done="Le dossier est classé sans suite."),
    Transition("repasser_en_instruction", "Repasser en instruction", DECIDED, State.EN_INSTRUCTION, INSTRUCTOR,
               guards=(_not_archived, _still_the_only_one), done="Le dossier est repassé en instruction."),
    Transition("archiver", "Archiver", DECIDED, None, INSTRUCTOR, guards=(_not_archived,),
               done="Le dossier est archivé."),
    Transition("desarchiver", "Désarchiver", DECIDED, None, INSTRUCTOR, done="Le dossier est désarchivé."),
)}


def why_not(t: Transition, dossier: Dossier, user) -> str | None:
    """Why ``user`` may not take ``t`` on ``dossier`` now, or None."""
    if t.actor == INSTRUCTOR and not can_instruct(user, dossier):
        return "Seul un instructeur de l'ARS de la région de l'appel peut faire cette action."
    if t.actor == APPLICANT and not _is_member(user, dossier):
        return "Seul un membre du dossier peut faire cette action."
    if dossier.state not in t.sources:
        return (f"« {t.label} » n'est pas possible sur un dossier « {dossier.get_state_display()} ».")
    if t.event == "desarchiver" and not dossier.archived:
        return "Ce dossier n'est pas archivé."
    for guard in t.guards:
        message = guard(dossier)
        if message:
            return message
    return None


def available(dossier: Dossier, user) -> list[Transition]:
    """The events ``user`` may take on ``dossier`` now, in table order (for buttons)."""
    return [t for t in TRANSITIONS.values() if why_not(t, dossier, user) is None]


def apply(dossier: Dossier, event: str, user, motivation: str = "", now=None, upload=None) -> Dossier:
    """Take ``event`` on ``dossier`` as ``user``: the one way a dossier changes state. ``upload``, an
    optional file (a decision letter, the list of what is missing), goes with the message in the thread."""
    t = TRANSITIONS.get(event)
    if t is None:
        raise TransitionError(f"Action inconnue : « {event} ».")
    motivation = (motivation or "").strip()
    if len(motivation) > MAX_MOTIVATION:
        raise TransitionError(f"La motivation compte {len(motivation)} caractères : {MAX_MOTIVATION} au plus.")
    now = now or timezone.now()
    with transaction.atomic():
        dossier = (Dossier.objects.select_for_update(of=("self",)).select_related("call__region")
                   .get(pk=dossier.pk))
        if t.event == "repasser_en_instruction":
            unique.lock([dossier.establishment_id, *dossier.partners.values_list("pk", flat=True)])
        refusal = why_not(t, dossier, user)
        if refusal:
            if t.actor == INSTRUCTOR and not can_instruct(user, dossier):
                raise PermissionDenied(refusal)
            raise TransitionError(refusal)
        if t.motivation_required and not motivation:
            raise TransitionError(f"« {t.label} » demande un message ou une motivation.")
        before = dossier.state
        if t.target is not None:
            dossier.state = t.target
        if t.event == "passer_en_instruction":
            dossier.instruction_started_at = now
            dossier.correction_requested = False
        elif t.event == "demander_correction":
            dossier.correction_requested = True
        elif t.event == "deposer_corrections":
            dossier.correction_requested = False
            dossier.last_filed_at = now
        elif t.target in DECIDED:
            dossier.decided_at = now
            dossier.motivation = motivation
        elif t.event == "repasser_en_instruction":
            dossier.decided_at = None
            dossier.motivation = ""
        elif t.event in ("archiver", "desarchiver"):
            dossier.archived = t.event == "archiver"
        dossier.save()
        kind = {"archiver": EventKind.ARCHIVED, "desarchiver": EventKind.UNARCHIVED}.get(t.event,
                                                                                       EventKind.TRANSITION)
        history = DossierEvent.objects.create(dossier=dossier, kind=kind, event=t.event, actor=user,
                                              from_state=before, to_state=dossier.state, motivation=motivation,
                                              details={"label": t.label, "done": t.done})
        from guichet.core import audit

        from . import notifications

        audit.record(user, f"transition:{t.event}", dossier=dossier, from_state=before, to_state=dossier.state,
                     motivation=motivation)
        # Listeners (the messagerie posts the ARS' message in the dossier's thread) run in the same transaction.
        transitioned.send(sender=Dossier, dossier=dossier, event=history, transition=t, upload=upload)
        transaction.on_commit(lambda: notifications.transition.enqueue(history.pk))
    return dossier
