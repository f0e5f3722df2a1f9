"""The commission's session pages: sessions of a call, members, agenda, the arbitration table (amounts
saved and totals recomputed as they are typed), decisions applied, minutes; the envelope; documents.

Every rule is in ``arbitration``; these views parse what was typed (French amounts) and show the
domain's messages at the field that caused them, keeping what was typed.
"""

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from guichet.calls.models import Call
from guichet.core.downloads import serve_checked
from guichet.core.money import euros
from guichet.core.text import count
from guichet.formschema.forms import SchemaFileField
from guichet.formschema.values import parse_decimal

from . import arbitration, documents
from .arbitration import ArbitrationError
from .models import ActionLine, AgendaItem, Capacity, ConventionKind, Decision, Document, Session, SessionMember
from .scoring import scores_of

AMOUNT_FIELDS = ("eligible_cost", "proposed", "granted")  # the amounts of an action line a request may carry


def _managed_call(request, slug) -> Call:
    call = get_object_or_404(Call.objects.instructed_by(request.user).select_related("region"), slug=slug)
    return call


def _session(request, pk, manage=False) -> Session:
    session = get_object_or_404(arbitration.sessions_visible_to(request.user).select_related("call__region"), pk=pk)
    if manage and not arbitration.can_manage(request.user, session.call):
        raise Http404
    return session


class SessionForm(DsfrBaseForm, forms.ModelForm):
    held_on = forms.DateTimeField(label="Date et heure de la séance", widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"), input_formats=["%Y-%m-%dT%H:%M"],
        error_messages={"invalid": "Saisissez une date et une heure valides.", "required": "Indiquez la date."})
    convention_starts_on = forms.DateField(label="Début des conventions", required=False,
                                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    convention_ends_on = forms.DateField(label="Fin des conventions", required=False,
                                         widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    class Meta:
        model = Session
        fields = ["title", "held_on", "place", "signatory_name", "signatory_title", "convention_starts_on",
                  "convention_ends_on"]
        error_messages = {"title": {"required": "Donnez un intitulé à la séance."}}

    def clean(self):
        data = super().clean()
        start, end = data.get("convention_starts_on"), data.get("convention_ends_on")
        if start and end and end < start:
            self.add_error("convention_ends_on", "La fin des conventions ne peut pas précéder leur début.")
        return data


@login_required
def session_list(request, slug):
    call = _managed_call(request, slug)
    form = SessionForm(request.POST or None, initial={
        "title": f"Commission d'arbitrage — {call.title}"[:200],
        "convention_starts_on": dt.date(call.year + 1, 1, 1) if call.year else None,
        "convention_ends_on": dt.date(call.year + 2, 12, 31) if call.year else None})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        session = arbitration.create_session(call, request.user, **data)
        messages.success(request, "La séance est créée : ajoutez ses membres et les dossiers à son ordre du jour.")
        return redirect("commission:session", pk=session.pk)
    sessions = call.sessions.all()
    return render(request, "commission/sessions.html", {
        "call": call, "sessions": sessions, "form": form, "totals": arbitration.totals(call), "nav": "instruction",
        "changes": call.envelope_changes.select_related("changed_by"), "page_title": f"Séances — {call.title}"},
        status=400 if form.errors else 200)


def line_url_pattern() -> str:
    """The amounts URL of action lines with ``{}`` for the line: reversed once per page, not once per
    input (the table of a year's session has thousands)."""
    return reverse("commission:line_amounts", args=[999999999]).replace("999999999", "{}")


OPEN_ALL_UP_TO = 10  # a session this small shows every action; a larger one, one line per dossier


def _opened(request) -> int | None:
    """The agenda item whose actions ``?ouvrir=`` asks to show (without JavaScript); anything else, none."""
    raw = request.GET.get("ouvrir", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _table(session: Session, opened: int | None = None):
    """The arbitration table's rows, in agenda order: each dossier with its totals (summed by the database)
    and score; the action lines (with ceilings) only of the opened dossier, or of every one on a small
    agenda — a year's session has thousands of lines, the page shows one dossier's at a time."""
    call = session.call
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=14, decimal_places=2))
    items = list(session.items.select_related("dossier__establishment").annotate(
        total_requested=Coalesce(Sum("lines__requested"), zero), total_proposed=Coalesce(Sum("lines__proposed"), zero),
        total_granted=Coalesce(Sum("lines__granted"), zero), line_count=Count("lines")))
    scores = scores_of([i.dossier_id for i in items], list(call.criteria.all()))
    shown = {i.pk for i in items} if len(items) <= OPEN_ALL_UP_TO else {opened} & {i.pk for i in items}
    _attach_lines([i for i in items if i.pk in shown], call)
    for item in items:
        item.score = scores[item.dossier_id].mean
        item.opened = item.pk in shown
        item.on_demand = item.opened and len(items) > OPEN_ALL_UP_TO
    return items


def _attach_lines(items, call) -> None:
    """Give ``items`` their action lines (``line_list``), each with its ceiling and amounts URL."""
    pattern = line_url_pattern()
    by_item = {item.pk: item for item in items}
    for item in items:
        item.line_list = []
    for line in ActionLine.objects.filter(item_id__in=by_item).order_by("item_id", "position"):
        line.ceiling = arbitration.line_ceiling(line, call.cofinancing_rate)
        line.url = pattern.format(line.pk)
        by_item[line.item_id].line_list.append(line)


@login_required
def session_detail(request, pk):
    return _render_session(request, _session(request, pk))


def _render_session(request, session, *, early_reason="", early_error="", status=200):
    call = session.call
    manage = arbitration.can_manage(request.user, call)
    items = _table(session, _opened(request))
    return render(request, "commission/session.html", {
        "session": session, "call": call, "items": items, "manage": manage and session.is_open,
        "can_manage": manage, "totals": arbitration.totals(call),
        "members": session.members.select_related("user"), "capacities": Capacity.choices,
        "decisions": Decision.choices, "convention_kinds": ConventionKind.choices,
        "minutes": session.documents.filter(kind="proces_verbal").order_by("-created_at", "-pk").first(),
        "problems": arbitration.problems(session, request.user) if manage and session.is_open and items else {},
        "early": session.held_on > timezone.now(), "early_reason": early_reason, "early_error": early_error,
        "nav": "instruction", "page_title": session.title}, status=status)


@login_required
@require_POST
def member_add(request, pk):
    session = _session(request, pk, manage=True)
    email = request.POST.get("email", "").strip().lower()
    capacity = request.POST.get("capacity", Capacity.MEMBER)
    user = get_user_model().objects.filter(email=email).first()
    if not email:
        messages.error(request, "Indiquez l'adresse électronique du membre.")
    elif user is None:
        messages.error(request, f"Aucun compte n'existe pour « {email} » : invitez la personne à créer son compte "
                                "sur le guichet, puis ajoutez-la.")
    elif capacity not in Capacity.values:
        messages.error(request, "Choisissez la qualité du membre dans la liste.")
    else:
        arbitration.add_member(session, request.user, user, capacity, request.POST.get("organisation", ""))
        messages.success(request, f"{email} siège à la séance.")
    return redirect("commission:session", pk=pk)


@login_required
@require_POST
def member_remove(request, pk, member_pk):
    session = _session(request, pk, manage=True)
    member = get_object_or_404(SessionMember, session=session, pk=member_pk)
    member.delete()
    messages.success(request, f"{member.user.email} ne siège plus à la séance.")
    return redirect("commission:session", pk=pk)


@login_required
def agenda(request, pk):
    session = _session(request, pk, manage=True)
    candidates = list(arbitration.agenda_candidates(session).order_by("number"))
    if request.method == "POST":
        chosen = [d for d in candidates if str(d.pk) in request.POST.getlist("dossiers")]
        if not chosen:
            messages.error(request, "Cochez au moins un dossier à inscrire à l'ordre du jour.")
        else:
            try:
                added, refused = arbitration.add_to_agenda(session, chosen, request.user)
            except ArbitrationError as exc:
                messages.error(request, exc.messages[0])
                return redirect("commission:session", pk=pk)
            if added:
                messages.success(request, f"{count(len(added), 'dossier inscrit')} à l'ordre du jour.")
            for number, reason in refused.items():
                messages.error(request, f"{number} : {reason}")
            return redirect("commission:session", pk=pk)
    return render(request, "commission/agenda.html", {
        "session": session, "candidates": candidates, "nav": "instruction",
        "page_title": f"Ordre du jour — {session.title}"})


@login_required
@require_POST
def agenda_remove(request, item_pk):
    item = get_object_or_404(AgendaItem.objects.select_related("session__call", "dossier"), pk=item_pk)
    _session(request, item.session_id, manage=True)
    try:
        arbitration.remove_from_agenda(item, request.user)
    except ArbitrationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"Le dossier {item.dossier} est retiré de l'ordre du jour.")
    return redirect("commission:session", pk=item.session_id)


def _line_or_404(request, pk) -> ActionLine:
    line = get_object_or_404(ActionLine.objects.select_related("item__session__call__region", "item__dossier"), pk=pk)
    _session(request, line.item.session_id, manage=True)
    return line


@login_required
@require_POST
def line_amounts(request, pk):
    """Save the amounts typed on one action; with htmx, answer the row and the totals (out of band)."""
    line = _line_or_404(request, pk)
    session = line.item.session
    errors, typed, changes, totals = {}, {}, {}, None
    for field in AMOUNT_FIELDS:
        if field not in request.POST:
            continue
        raw = typed[field] = request.POST[field].strip()
        try:
            changes[field] = parse_decimal(raw)
        except ValidationError as exc:
            errors[field] = exc.messages[0]
    if not errors and changes:
        try:
            totals = arbitration.set_amounts(line, request.user, **changes)
        except ArbitrationError as exc:
            errors = {k: v[0] for k, v in exc.message_dict.items()}
    line.refresh_from_db()
    line.ceiling = arbitration.line_ceiling(line, session.call.cofinancing_rate)
    line.url = reverse("commission:line_amounts", args=[line.pk])
    if not request.htmx:
        for message in errors.values():
            messages.error(request, f"{line.title} : {message}")
        return redirect(f"{session_url(session)}?ouvrir={line.item_id}#ligne-{line.pk}")
    item = line.item
    lines = list(item.lines.all())
    return render(request, "commission/_line.html", {
        "line": line, "item": item, "manage": True, "errors": errors, "typed": typed, "oob": True,
        # set_amounts returns the totals it checked the envelope against (the call row locked); else read them.
        "totals": totals or arbitration.totals(session.call),
        "item_granted": sum((li.granted or 0 for li in lines), Decimal(0)),
        "item_proposed": sum((li.proposed or 0 for li in lines), Decimal(0))})


def session_url(session) -> str:
    return reverse("commission:session", args=[session.pk])


@login_required
def item_actions(request, item_pk):
    """One dossier's rows of the arbitration table, its actions opened (« Voir les actions »): the htmx
    fragment; without JavaScript, the session page with this dossier opened."""
    item = get_object_or_404(AgendaItem.objects.select_related("dossier__establishment"), pk=item_pk)
    session = _session(request, item.session_id)
    if not request.htmx:
        return redirect(f"{session_url(session)}?ouvrir={item.pk}#dossier-{item.pk}")
    call = session.call
    manage = arbitration.can_manage(request.user, call)
    item.score = scores_of([item.dossier_id], list(call.criteria.all()))[item.dossier_id].mean
    _attach_lines([item], call)
    item.opened = item.on_demand = True
    item.line_count = len(item.line_list)
    item.total_requested = sum((li.requested for li in item.line_list), Decimal(0))
    item.total_proposed = sum((li.proposed or 0 for li in item.line_list), Decimal(0))
    item.total_granted = sum((li.granted or 0 for li in item.line_list), Decimal(0))
    return render(request, "commission/_item.html", {
        "session": session, "item": item, "manage": manage and session.is_open, "can_manage": manage,
        "decisions": Decision.choices, "convention_kinds": ConventionKind.choices, "focus": True})


@login_required
@require_POST
def item_decision(request, item_pk):
    item = get_object_or_404(AgendaItem.objects.select_related("session__call__region", "dossier"), pk=item_pk)
    _session(request, item.session_id, manage=True)
    try:
        arbitration.set_decision(item, request.user, request.POST.get("decision", ""),
                                 request.POST.get("motivation", ""), request.POST.get("convention_kind") or None)
    except ArbitrationError as exc:
        messages.error(request, f"{item.dossier} : {exc.messages[0]}")
    else:
        messages.success(request, f"Décision enregistrée pour le dossier {item.dossier} : "
                                  f"{item.outcome.lower()}.")
    return redirect(f"{session_url(item.session)}?ouvrir={item.pk}#dossier-{item.pk}")


@login_required
@require_POST
def apply(request, pk):
    session = _session(request, pk, manage=True)
    reason = request.POST.get("early_reason", "")
    try:
        applied = arbitration.apply_decisions(session, request.user, early_reason=reason)
    except ArbitrationError as exc:
        if hasattr(exc, "error_dict") and "early_reason" in exc.error_dict:
            return _render_session(request, session, early_reason=reason,
                                   early_error=exc.message_dict["early_reason"][0], status=400)
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Les décisions sont appliquées à {count(len(applied), 'dossier')} ; "
                                  "les demandeurs sont "
                                  "prévenus, les lettres, conventions et le procès-verbal sont générés.")
    return redirect("commission:session", pk=pk)


@login_required
def minutes(request, pk):
    """The latest minutes as PDF: the final text once decisions are applied, else the latest draft."""
    session = _session(request, pk)
    stored = session.documents.filter(kind="proces_verbal").order_by("-created_at", "-pk").first()
    if stored is None:
        messages.info(request, "Aucun procès-verbal n'est encore généré pour cette séance.")
        return redirect("commission:session", pk=pk)
    return serve_checked(request, stored, None, document=stored.pk)


@login_required
@require_POST
def minutes_draft(request, pk):
    """Generate a draft of the minutes from the table as it is — in the background: for a year's session
    (300 dossiers, 90 pages) it takes longer than a page should."""
    session = _session(request, pk, manage=True)
    if not session.is_open:
        messages.error(request, "Les décisions de cette séance sont appliquées : son procès-verbal est définitif.")
    else:
        documents.generate_minutes_task.enqueue(session.pk)
        messages.success(request, "Le projet de procès-verbal est en cours de génération : il apparaît sur cette "
                                  "page dès qu'il est prêt.")
    return redirect("commission:session", pk=pk)


class EnvelopeForm(DsfrBaseForm):
    envelope = forms.CharField(label="Nouvelle enveloppe (€)", error_messages={
        "required": "Indiquez le montant de l'enveloppe."})
    reason = forms.CharField(label="Motif", widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=arbitration.MAX_REASON, help_text="1 000 caractères au plus.",
                             error_messages={"required": "Indiquez le motif de la modification de l'enveloppe.",
                                             "max_length": "Le motif compte %(show_value)d caractères : "
                                                           "%(limit_value)d au plus."})

    def clean_envelope(self):
        return parse_decimal(self.cleaned_data["envelope"])


@login_required
def envelope(request, slug):
    call = _managed_call(request, slug)
    if not request.user.is_ars_admin:
        raise PermissionDenied("Seul un administrateur de l'ARS modifie l'enveloppe.")
    form = EnvelopeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            change = arbitration.raise_envelope(call, request.user, form.cleaned_data["envelope"],
                                                form.cleaned_data["reason"])
        except ArbitrationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            # The domain function changed its own locked copy of the call: the amount is the change's.
            messages.success(request, f"L'enveloppe de l'appel est portée à {euros(change.new)}.")
            return redirect("commission:sessions", slug=slug)
    return render(request, "commission/envelope.html", {
        "call": call, "form": form, "totals": arbitration.totals(call), "nav": "instruction",
        "page_title": f"Enveloppe — {call.title}"}, status=400 if form.errors else 200)


@login_required
def document_download(request, pk):
    document = get_object_or_404(Document.objects.select_related("dossier__call", "session__call"), pk=pk)
    if not documents.can_download(request.user, document):
        raise Http404
    return serve_checked(request, document, document.dossier, document=document.pk, kind=document.kind)


class SignedConventionForm(DsfrBaseForm):
    signed_on = forms.DateField(label="Date de signature", widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"required": "Indiquez la date de signature de la convention.",
                                                "invalid": "Saisissez une date valide."})
    file = SchemaFileField(label="Convention signée (PDF)", allowed_types=["pdf"], error_messages={
        "required": "Joignez la convention signée."})


@login_required
def signed_convention(request, grant_pk):
    from guichet.funding.models import Grant

    grant = get_object_or_404(Grant.objects.visible_to(request.user).select_related("dossier__call", "beneficiary"),
                              pk=grant_pk)
    form = SignedConventionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            documents.upload_signed_convention(grant, form.cleaned_data["file"], request.user,
                                               form.cleaned_data["signed_on"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "La convention signée est enregistrée : la subvention est active.")
            return redirect("commission:grant", grant_pk=grant.pk)
    return render(request, "commission/grant.html", {
        "grant": grant, "form": form, "documents": documents.latest(grant.dossier) if grant.dossier else {},
        "today": timezone.localdate(), "nav": "dossiers", "page_title": f"Subvention {grant.convention_reference}"},
        status=400 if form.errors else 200)
