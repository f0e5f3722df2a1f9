"""Putting the call's labels on a dossier, from the instructor's dossier page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from guichet.core import audit
from guichet.core.ids import parse_id

from .models import Label
from .views_dossier import instructed_or_404


def set_labels(dossier, label_ids, user, request=None) -> list[Label]:
    """The dossier's labels become ``label_ids`` (only labels of its own call count)."""
    chosen = list(Label.objects.filter(call_id=dossier.call_id, pk__in=label_ids))
    with transaction.atomic():
        dossier.labels.set(chosen)
        audit.record(user, "labels", dossier=dossier, request=request, labels=[label.name for label in chosen])
    return chosen


@login_required
@require_POST
def labels_view(request, pk):
    dossier = instructed_or_404(request, pk)
    ids = [value for value in map(parse_id, request.POST.getlist("etiquette")) if value is not None]
    chosen = set_labels(dossier, ids, request.user, request)
    names = ", ".join(f"« {label.name} »" for label in chosen) or "aucune"
    messages.success(request, f"Étiquettes du dossier : {names}.")
    return redirect("instruction:dossier", pk=pk)
