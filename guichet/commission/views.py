"""The commission's pages: a dossier's scoring grid, and the call's ranking."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from guichet.calls.models import Call
from guichet.dossiers.models import Dossier
from guichet.instruction.views_dossier import instructed_or_404

from . import scoring
from .models import Score

HIGH_SPREAD = 4  # points out of 20 between two scorers: the commission should talk it over


@login_required
def grid(request, pk):
    dossier = instructed_or_404(request, pk)
    criteria = list(dossier.call.criteria.all())
    mine = {s.criterion_id: s for s in Score.objects.filter(dossier=dossier, scorer=request.user)}
    errors, typed = {}, {}
    if request.method == "POST":
        values, comments = {}, {}
        for c in criteria:
            raw = request.POST.get(f"note-{c.pk}", "").strip()
            typed[c.pk] = raw
            comments[c.pk] = request.POST.get(f"commentaire-{c.pk}", "").strip()[:1000]
            if raw == "":
                continue
            if not raw.isdigit() or not 0 <= int(raw) <= c.scale_max:
                errors[c.pk] = f"Saisissez un nombre entier de 0 à {c.scale_max}."
            else:
                values[c.pk] = int(raw)
        if not errors:
            try:
                scoring.record(dossier, request.user, values, comments, request=request)
            except ValidationError as exc:
                messages.error(request, exc.messages[0])
            else:
                messages.success(request, "Votre notation est enregistrée.")
                return redirect("commission:grid", pk=pk)
    score = scoring.scores_of([dossier], criteria)[dossier.pk]
    rows = [{"criterion": c, "value": typed.get(c.pk, mine[c.pk].value if c.pk in mine else ""),
             "comment": request.POST.get(f"commentaire-{c.pk}", mine[c.pk].comment if c.pk in mine else ""),
             "error": errors.get(c.pk)} for c in criteria]
    return render(request, "commission/grid.html", {
        "dossier": dossier, "rows": rows, "score": score, "my_mark": score.marks.get(request.user.pk),
        "high_spread": score.spread is not None and score.spread >= HIGH_SPREAD, "nav": "instruction",
        "page_title": f"Notation du dossier {dossier.number}"}, status=400 if errors else 200)


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
