"""Expert opinions: the ARS' page of a dossier's requests, and the expert's page behind a secret link.

The expert's page knows only its token: it shows that dossier (read-only), the question, the
opinions of the other experts that are not confidential, the answer form and, when the call has a
scoring grid, the expert's own grid (``commission.scoring``, the request standing for the scorer) —
nothing else.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from guichet.commission import scoring
from guichet.core import audit, downloads
from guichet.dossiers.display import answer_sections
from guichet.dossiers.models import Attachment
from guichet.instruction.views_dossier import instructed_or_404

from . import services
from .forms import AnswerForm, AskForm
from .models import ExpertFile, ExpertRequest


@login_required
def dossier_requests(request, pk):
    dossier = instructed_or_404(request, pk)
    form = AskForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.ask(dossier, request.user, email=form.cleaned_data["email"],
                         question=form.cleaned_data["question"], confidential=form.cleaned_data["confidential"],
                         upload=form.cleaned_data.get("file"), http_request=request)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"La demande d'avis a été envoyée à {form.cleaned_data['email']}.")
            return redirect("experts:dossier", pk=pk)
    requests = dossier.expert_requests.prefetch_related("files").select_related("invited_by")
    return render(request, "experts/dossier.html", {"dossier": dossier, "form": form, "requests": requests,
                                                    "page_title": f"Avis d'experts — dossier {dossier}"})


@login_required
@require_POST
def revoke(request, pk, request_id):
    dossier = instructed_or_404(request, pk)
    item = get_object_or_404(ExpertRequest, pk=request_id, dossier=dossier, answered_at__isnull=True)
    services.revoke(item, request.user, http_request=request)
    messages.success(request, f"La demande d'avis à {item.email} est annulée.")
    return redirect("experts:dossier", pk=pk)


@login_required
def ars_file(request, pk, file_id):
    dossier = instructed_or_404(request, pk)
    item = get_object_or_404(ExpertFile, pk=file_id, request__dossier=dossier)
    return _serve(request, item, dossier)


def _serve(request, item, dossier, expert=None):
    """Through the antivirus check, recorded like the applicant's and the ARS' downloads (the object, its
    name and checksum) and, behind the link, with the expert's address: the link has no account."""
    details = {"expert": expert.email} if expert is not None else {}
    return downloads.serve_checked(request, item, dossier, obj=item, name=item.original_name, sha256=item.sha256,
                                   **details)


def _by_token(token) -> ExpertRequest:
    item = (ExpertRequest.objects.select_related("dossier__call__region", "dossier__establishment",
                                                 "dossier__form_version")
            .filter(token=token, revoked_at__isnull=True).first())
    if item is None:
        raise Http404
    return item


def answer(request, token):
    item = _by_token(token)
    form = AnswerForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not item.answered_at and form.is_valid():
        try:
            services.answer(item, text=form.cleaned_data["answer"], upload=form.cleaned_data.get("file"),
                            http_request=request)
        except ValidationError as exc:
            form.add_error("answer", exc)
        else:
            messages.success(request, "Merci : votre avis a été transmis à l'ARS.")
            return redirect("experts:answer", token=token)
    return _answer_page(request, item, form)


@require_POST
def score(request, token):
    """The expert's scoring grid, posted from their page; mistakes come back at their fields."""
    item = _by_token(token)
    criteria = list(item.dossier.call.criteria.all())
    entry = scoring.read_grid(request.POST, criteria)
    if not entry.errors:
        try:
            scoring.record(item.dossier, item, entry.values, entry.comments, request=request)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, "Votre notation est enregistrée.")
        return redirect(reverse("experts:answer", args=[token]) + "#notation")
    return _answer_page(request, item, AnswerForm(), entry, status=400)


def _answer_page(request, item, form, entry=None, status=200):
    dossier = item.dossier
    criteria = list(dossier.call.criteria.all())
    grid = None
    if criteria:
        grid = {"rows": scoring.grid_rows(criteria, scoring.scores_by(dossier, item), entry),
                "closed": scoring.why_closed(item, dossier),
                "my_mark": scoring.scores_of([dossier], criteria)[dossier.pk].marks.get(scoring.scorer_key(item))}
    audit.record(None, "avis:view", dossier=dossier, request=request, expert=item.email)
    return render(request, "experts/answer.html", {
        "r": item, "dossier": dossier, "form": form, "sections": answer_sections(dossier.form_version.parsed(),
                                                                                 dossier.answers),
        "grid": grid, "others": services.visible_to_expert(item),
        "page_title": f"Avis sur le dossier {dossier.number}",
    }, status=status)


def expert_file(request, token, attachment_id):
    """A file of the dossier, or of the question, for the expert holding the link — and nothing else."""
    item = _by_token(token)
    attachment = get_object_or_404(Attachment, pk=attachment_id, dossier_id=item.dossier_id)
    return _serve(request, attachment, item.dossier, expert=item)


def expert_question_file(request, token, file_id):
    item = _by_token(token)
    stored = get_object_or_404(ExpertFile, pk=file_id, request=item)
    return _serve(request, stored, item.dossier, expert=item)
