"""What the home page shows each role: the applicant's dossiers and deadlines, the instructor's calls with what
is left to handle, the administrator's calls by stage, a commission member's sessions, the national reader's way
to the national statistics.

Used by the home view only (it sits at the view layer, above the apps it reads). Every function runs a fixed
number of queries whatever the volume: counts are aggregated in the database, lists are bounded.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from guichet.accounts.permissions import is_applicant, is_ars_staff, is_national_reader, sits_on_a_commission
from guichet.calls.models import Call
from guichet.commission.models import Session
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import MembershipRequest, Region, RequestStatus
from guichet.funding.models import InvoiceLine, LineStatus
from guichet.messaging import unread
from guichet.messaging.models import AwaitedDocument

# Bounds of the lists (the pages they come from show the rest).
DOSSIERS_SHOWN = 20
CALLS_SHOWN = 6
OPEN_STATES = (State.EN_CONSTRUCTION, State.EN_INSTRUCTION)


def open_calls(now=None, limit: int = CALLS_SHOWN):
    """The calls open for filing now, closing soonest first (one query)."""
    return list(Call.objects.open_at(now).select_related("region").order_by("closes_at")[:limit])


def applicant(user) -> dict:
    """The applicant's dossiers with their unread messages, what they must do next, and pending claims."""
    dossiers = list(Dossier.objects.filter(members=user).select_related("call__region", "establishment")
                    .order_by("-updated_at")[:DOSSIERS_SHOWN])
    counts = unread.unread_counts(user, [d.pk for d in dossiers])
    for dossier in dossiers:
        dossier.unread = counts.get(dossier.pk, 0)
    now = timezone.now()
    drafts = [d for d in dossiers if d.state == State.BROUILLON and d.call.closes_at > now]
    drafts.sort(key=lambda d: d.call.closes_at)
    return {
        "dossiers": dossiers,
        "unread_total": sum(counts.values()),
        "drafts": drafts,
        "corrections": [d for d in dossiers if d.state == State.EN_CONSTRUCTION and d.correction_requested],
        "awaited": list(AwaitedDocument.objects.awaited().filter(dossier__members=user)
                        .select_related("dossier").order_by("since")[:DOSSIERS_SHOWN]),
        "claims": list(MembershipRequest.objects.filter(user=user, status=RequestStatus.PENDING)
                       .select_related("establishment")),
        "open_calls": open_calls(now),
    }


def instructor(user) -> dict:
    """The calls the user instructs with, per call, the dossiers to handle, the proofs awaiting validation and
    the unread messages (three queries)."""
    calls = list(Call.objects.instructed_by(user).select_related("region").annotate(
        n_construction=Count("dossier_indexes", filter=Q(dossier_indexes__archived=False,
                                                         dossier_indexes__state=State.EN_CONSTRUCTION)),
        n_instruction=Count("dossier_indexes", filter=Q(dossier_indexes__archived=False,
                                                        dossier_indexes__state=State.EN_INSTRUCTION)),
        n_to_handle=Count("dossier_indexes", filter=Q(dossier_indexes__archived=False,
                                                      dossier_indexes__followed=False,
                                                      dossier_indexes__state__in=OPEN_STATES)),
    ).order_by("-year", "title"))
    ids = [c.pk for c in calls]
    proofs = dict(InvoiceLine.objects.filter(dossier__call_id__in=ids, status=LineStatus.PENDING,
                                             received_at__isnull=False).order_by()
                  .values("dossier__call_id").annotate(n=Count("dossier_id", distinct=True))
                  .values_list("dossier__call_id", "n")) if ids else {}
    messages = dict(unread.unread_for(user).filter(dossier__call_id__in=ids).order_by()
                    .values("dossier__call_id").annotate(n=Count("pk"))
                    .values_list("dossier__call_id", "n")) if ids else {}
    for call in calls:
        call.n_proofs = proofs.get(call.pk, 0)
        call.n_unread = messages.get(call.pk, 0)
    active = [c for c in calls if c.n_construction or c.n_instruction or c.n_proofs or c.n_unread]
    return {"calls": active or calls[:CALLS_SHOWN], "unread_total": sum(messages.values()),
            "all_calls_count": len(calls)}


STAGES = [("draft", "Brouillons (non publiés)"), ("published", "Publiés, pas encore ouverts"),
          ("open", "Ouverts au dépôt"), ("closed", "Clos")]


def stage(call, now) -> str:
    if not call.published:
        return "draft"
    if call.opens_at > now:
        return "published"
    return "open" if call.is_open(now) else "closed"


def administrator(user) -> dict:
    """The calls the user administers, grouped by stage (one query)."""
    now = timezone.now()
    groups = {key: [] for key, _ in STAGES}
    for call in Call.objects.administered_by(user).calls().select_related("region").order_by("-year", "title"):
        groups[stage(call, now)].append(call)
    return {"stages": [{"key": key, "label": label, "calls": groups[key]} for key, label in STAGES]}


def commission(user) -> dict:
    """The sessions the user sits on, the coming ones first (one query)."""
    sessions = list(Session.objects.filter(members__user=user).select_related("call").order_by("-held_on")[:10])
    now = timezone.now()
    return {"upcoming": sorted([s for s in sessions if s.held_on >= now], key=lambda s: s.held_on),
            "past": [s for s in sessions if s.held_on < now]}


def for_user(user) -> dict:
    """Everything the home page shows ``user``: one block per role they hold."""
    if not user.is_authenticated:
        return {"public": {"open_calls": open_calls()}}
    blocks = {}
    if is_ars_staff(user):
        blocks["instructor"] = instructor(user)
        if user.is_ars_admin:
            blocks["administrator"] = administrator(user)
    elif is_national_reader(user):
        blocks["national"] = {"regions": list(Region.objects.order_by("name").values_list("name", flat=True))}
        return blocks  # nothing else: no dossier, no session, no name
    elif is_applicant(user):
        blocks["applicant"] = applicant(user)
    if sits_on_a_commission(user):
        blocks["commission"] = commission(user)
    return blocks
