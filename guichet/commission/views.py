"""The commission's pages: a dossier's scoring grid, the call's ranking, and for a commission member the
sessions they sit on and a read-only page of each dossier on their agenda.

A member who is not ARS staff reaches a dossier only through a session whose agenda holds it
(``scorable_or_404``); they never see the instructor's pages, annotations, messages or expert opinions.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from guichet.calls.models import Call
from guichet.core import audit
from guichet.dossiers.display import answer_sections
from guichet.dossiers.models import Dossier
from guichet.dossiers.workflow import can_instruct
from guichet.instruction.views_dossier import instructed_or_404

from . import scoring
from .models import AgendaItem, Session, SessionMember

HIGH_SPREAD = 4  # points out of 20 between two scorers: the commission should talk it over


def scorable_or_404(request, pk) -> Dossier:
    """A dossier the user may score: one they instruct (ARS staff of its region), else one on the agenda
    of a commission session they sit on; 404 for anything else."""
    try:
        return instructed_or_404(request, pk)
    except Http404:
        pass
    return get_object_or_404(scoring.seated_dossiers(request.user).select_related(
        "call__region", "establishment", "form_version"), pk=pk)


@login_required
def grid(request, pk):
    dossier = scorable_or_404(request, pk)
    instructs = can_instruct(request.user, dossier)
    criteria = list(dossier.call.criteria.all())
    entry = None
    if request.method == "POST":
        entry = scoring.read_grid(request.POST, criteria)
        if not entry.errors:
            try:
                scoring.record(dossier, request.user, entry.values, entry.comments, request=request)
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
            else:
                messages.success(request, "Votre notation est enregistrée.")
                return redirect("commission:grid", pk=pk)
    score = scoring.scores_of([dossier], criteria)[dossier.pk]
    rows = scoring.grid_rows(criteria, scoring.scores_by(dossier, request.user), entry)
    return render(request, "commission/grid.html", {
        "dossier": dossier, "rows": rows, "score": score, "my_mark": score.marks.get(request.user.pk),
        "closed": scoring.why_closed(request.user, dossier), "instructs": instructs,
        "high_spread": score.spread is not None and score.spread >= HIGH_SPREAD,
        "nav": "instruction" if instructs else "commission",
        "page_title": f"Notation du dossier {dossier.number}"}, status=400 if entry and entry.errors else 200)


@login_required
def ranking(request, slug):
    call = get_object_or_404(Call.objects.instructed_by(request.user).select_related("region"), slug=slug)
    scores = scoring.ranking(call)
    dossiers = {d.pk: d for d in Dossier.objects.filter(pk__in=[s.dossier_id for s in scores])
                .select_related("establishment")}
    rows = [{"score": s, "dossier": dossiers[s.dossier_id], "scorers": len(s.marks),
             "high_spread": s.spread is not None and s.spread >= HIGH_SPREAD} for s in scores]
    return render(request, "commission/ranking.html", {"call": call, "rows": rows, "has_criteria":
                                                       call.criteria.exists(), "nav": "instruction",
                                                       "page_title": f"Classement — {call.title}"})


@login_required
def member_dossier(request, pk):
    """« Dossier en commission »: the dossier's answers and files, read-only, for whoever may score it."""
    dossier = scorable_or_404(request, pk)
    audit.record(request.user, "view", dossier=dossier, request=request, page="commission")
    return render(request, "commission/member_dossier.html", {
        "dossier": dossier, "sections": answer_sections(dossier.form_version.parsed(), dossier.answers),
        "has_criteria": dossier.call.criteria.exists(), "is_member": False,
        "nav": "instruction" if can_instruct(request.user, dossier) else "commission",
        "page_title": f"Dossier {dossier.number} en commission"})


@login_required
def my_sessions(request):
    """« Mes séances »: the sessions the user sits on, each with its agenda and the user's own marks."""
    seats = {m.session_id: m for m in SessionMember.objects.filter(user=request.user)}
    sessions = list(Session.objects.filter(pk__in=seats).select_related("call").prefetch_related(
        Prefetch("items", queryset=AgendaItem.objects.select_related("dossier__establishment"))))
    my_marks = {}
    for session in sessions:
        scores = scoring.scores_of([i.dossier_id for i in session.items.all()], list(session.call.criteria.all()))
        my_marks.update({pk: score.marks.get(request.user.pk) for pk, score in scores.items()})
    return render(request, "commission/my_sessions.html", {
        "sessions": [{"session": s, "seat": seats[s.pk], "items": [
            {"item": i, "dossier": i.dossier, "my_mark": my_marks.get(i.dossier_id)} for i in s.items.all()]}
            for s in sessions],
        "nav": "commission", "page_title": "Mes séances de commission"})
