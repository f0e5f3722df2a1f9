"""The ARS' payment pages: a proofs call's payment windows with what is ready to order in each (per
legal entity and action), the payment orders and their XLSX / CSV exports, marking an order paid; the
ledger of a grant and its closing.

Every rule is in ``payments`` (``create_order``, ``mark_paid``, ``ledger``, ``close``); these views read
what was typed and show the domain's French messages at the field, keeping what was typed. Calls and
orders are reached through ``Call.objects.instructed_by`` (ARS staff of the region), grants through
``Grant.objects.visible_to`` (the region's staff and the beneficiary's members); anything else is 404.
"""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from guichet.accounts.permissions import is_ars_of
from guichet.calls.models import Call, CallKind
from guichet.core import audit
from guichet.core.ids import is_ascii_number
from guichet.core.money import euros
from guichet.core.spreadsheets import XLSX
from guichet.dossiers.models import State
from guichet.formschema.values import parse_decimal

from . import balances, exports, payments, services
from .models import Grant, GrantStatus, Payment, PaymentOrder, PaymentStatus
from .payments import ProofsError

ZERO = Decimal("0.00")
STATUS_LABELS = dict(PaymentStatus.choices)


def _proofs_call(request, slug) -> Call:
    return get_object_or_404(Call.objects.instructed_by(request.user).filter(kind=CallKind.PROOFS)
                             .select_related("region"), slug=slug)


def _order(request, pk) -> PaymentOrder:
    return get_object_or_404(PaymentOrder.objects.filter(call__in=Call.objects.instructed_by(request.user))
                             .select_related("call__region", "created_by"), pk=pk)


def _errors_into(form, exc: ProofsError):
    """The domain's messages at their field (or above the form)."""
    if hasattr(exc, "error_dict"):
        for key, texts in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, texts[0])
    else:
        form.add_error(None, exc.messages[0])


# --- a proofs call's windows and orders -----------------------------------------------------------

def _windows(call: Call) -> list[dict]:
    """Per window: what is ready to order (accepted dossiers), per legal entity and action; and what is
    scheduled on dossiers not accepted yet."""
    result = []
    for window in payments.windows(call):
        rows = exports.order_rows(payments.orderable(call, window.index).order_by("pk"))
        waiting = (Payment.objects.filter(call=call, window_index=window.index, status=PaymentStatus.SCHEDULED)
                   .exclude(dossier__state=State.ACCEPTE).aggregate(n=Count("dossier", distinct=True),
                                                                    s=Sum("amount")))
        result.append({"window": window, "groups": exports.by_legal_entity(rows), "rows": rows,
                       "total": sum((r.amount for r in rows), ZERO), "waiting_dossiers": waiting["n"],
                       "waiting_amount": waiting["s"] or ZERO})
    return result


@login_required
def call_payments(request, slug):
    call = _proofs_call(request, slug)
    orders = (PaymentOrder.objects.filter(call=call).select_related("created_by")
              .annotate(total=Sum("payments__amount"), lines=Count("payments")).order_by("-created_at", "-pk"))
    return render(request, "funding/ars/call.html", {
        "call": call, "windows": _windows(call), "orders": orders, "nav": "instruction",
        "page_title": f"Versements — {call.title}"})


@login_required
@require_POST
def create_order(request, slug):
    call = _proofs_call(request, slug)
    raw = request.POST.get("window", "")
    if not is_ascii_number(raw) or len(raw) > 6:
        messages.error(request, "Choisissez la fenêtre de versement à ordonnancer.")
        return redirect("payments:call", slug=slug)
    try:
        order = payments.create_order(call, int(raw), request.user)
    except PermissionDenied:
        raise Http404 from None
    except ProofsError as exc:
        messages.error(request, exc.messages[0])
        return redirect("payments:call", slug=slug)
    total = sum((p.amount for p in order.payments.all()), ZERO)
    messages.success(request, f"Ordre de paiement n° {order.pk} créé : {euros(total)} — {order.window_label}. "
                              "Transmettez-le au service financier, puis indiquez ici la date et la référence "
                              "du versement.")
    return redirect("payments:order", pk=order.pk)


# --- one order: lines, exports, paid -------------------------------------------------------------

class PaidForm(DsfrBaseForm):
    paid_on = forms.DateField(label="Date du versement", required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                              input_formats=["%Y-%m-%d", "%d/%m/%Y"],
                              error_messages={"invalid": "Saisissez une date valide, par exemple 28/06/2024."})
    reference = forms.CharField(label="Référence du paiement", required=False, max_length=100,
                                help_text="Numéro de mandat, bordereau de la paierie…")


@login_required
def order_detail(request, pk):
    order = _order(request, pk)
    form = PaidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            payments.mark_paid(order, request.user, form.cleaned_data["paid_on"], form.cleaned_data["reference"])
        except PermissionDenied:
            raise Http404 from None
        except ProofsError as exc:
            if not hasattr(exc, "error_dict"):  # about the order, not a field: already paid
                messages.error(request, exc.messages[0])
                return redirect("payments:order", pk=order.pk)
            _errors_into(form, exc)
        else:
            messages.success(request, f"L'ordre de paiement n° {order.pk} est marqué comme versé le "
                                      f"{order.paid_on:%d/%m/%Y}.")
            return redirect("payments:order", pk=order.pk)
    rows = exports.order_rows(exports.order_payments(order))
    return render(request, "funding/ars/order.html", {
        "order": order, "call": order.call, "groups": exports.by_legal_entity(rows), "rows": rows,
        "total": sum((r.amount for r in rows), ZERO), "form": form, "nav": "instruction",
        "page_title": f"Ordre de paiement n° {order.pk} — {order.window_label}"}, status=400 if form.errors else 200)


def _download(request, order, kind: str, content: bytes, content_type: str, extension: str):
    audit.record(request.user, f"export:payment_order_{kind}", request=request, obj=order)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, exports.export_filename(order, extension))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def order_xlsx(request, pk):
    order = _order(request, pk)
    rows = exports.order_rows(exports.order_payments(order))
    return _download(request, order, "xlsx", exports.order_workbook(order, rows), XLSX, "xlsx")


@login_required
def order_csv(request, pk):
    order = _order(request, pk)
    rows = exports.order_rows(exports.order_payments(order))
    return _download(request, order, "csv", exports.order_csv(order, rows), "text/csv; charset=utf-8", "csv")


# --- a grant's ledger -----------------------------------------------------------------------------

class CloseForm(DsfrBaseForm):
    reason = forms.CharField(label="Motif de la clôture", required=False, max_length=300,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Par exemple : convention échue, actions abandonnées. Les versements "
                                       "prévus et non ordonnancés sont annulés.")


def _can_close(user, grant: Grant) -> bool:
    return grant.status != GrantStatus.CLOSED and is_ars_of(user, grant.region_id)


def _grant(request, pk) -> Grant:
    return get_object_or_404(Grant.objects.visible_to(request.user)
                             .select_related("beneficiary", "legal_entity", "call", "dossier"), pk=pk)


class TotalForm(DsfrBaseForm):
    """The convention's total as typed: French amounts (« 12 000,50 ») read by ``parse_decimal``; the rules
    are ``services.set_total``'s."""

    total = forms.CharField(label="Montant total de la convention (€)", required=False, max_length=30,
                            help_text="Au plus la somme des plafonds des actions, au moins ce qui est déjà versé ou "
                                      "ordonnancé. Par exemple 12 000,50.")
    reason = forms.CharField(label="Motif", required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Par exemple : montant total inscrit à l'article 3 de la convention signée.")

    def clean_total(self):
        raw = self.cleaned_data["total"]
        try:
            return parse_decimal(raw)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from None


def _can_set_total(user, grant: Grant) -> bool:
    return grant.status != GrantStatus.CLOSED and is_ars_of(user, grant.region_id)


def _ledger_page(request, grant: Grant, form=None, total_form=None, status=200):
    actions = list(grant.actions.all())
    grant_balances, action_balances = balances.compute([grant])
    for action in actions:
        action.balance = action_balances[action.pk]
    entries = payments.ledger(grant)
    for entry in entries:
        entry.status_label = STATUS_LABELS.get(entry.status, entry.status)
    summary = grant_balances[grant.pk]
    can_close = _can_close(request.user, grant)
    can_set_total = _can_set_total(request.user, grant)
    if can_set_total and total_form is None:
        total_form = TotalForm(initial={"total": f"{grant.total:.2f}".replace(".", ",")})
    return render(request, "funding/ars/ledger.html", {
        "grant": grant, "actions": actions, "entries": entries, "summary": summary,
        "balance": {"total": summary.total, "paid": summary.paid, "pending": summary.committed,
                    "remaining": summary.remaining},
        "can_close": can_close, "form": form or (CloseForm() if can_close else None),
        "can_set_total": can_set_total, "total_form": total_form if can_set_total else None,
        "nav": "instruction" if request.user.is_ars_staff else "dossiers",
        "page_title": f"Versements de la subvention {grant.convention_reference}"}, status=status)


@login_required
@require_POST
def set_total(request, pk):
    grant = _grant(request, pk)
    if not is_ars_of(request.user, grant.region_id):
        raise PermissionDenied("Seule l'ARS de la région fixe le montant total d'une subvention.")
    form = TotalForm(request.POST)
    if form.is_valid():
        try:
            services.set_total(grant, request.user, form.cleaned_data["total"], form.cleaned_data["reason"],
                               request=request)
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                messages.error(request, exc.messages[0])
                return redirect("payments:ledger", pk=pk)
            for key, texts in exc.message_dict.items():
                form.add_error(key if key in form.fields else None, texts[0])
        else:
            grant.refresh_from_db()
            messages.success(request, f"Le montant total de la convention {grant.convention_reference} est fixé à "
                                      f"{euros(grant.total)}.")
            return redirect("payments:ledger", pk=pk)
    return _ledger_page(request, grant, total_form=form, status=400)


@login_required
def ledger(request, pk):
    grant = _grant(request, pk)
    audit.record(request.user, "view", dossier=grant.dossier_id, request=request, obj=grant, page="ledger")
    return _ledger_page(request, grant)


@login_required
@require_POST
def close_grant(request, pk):
    grant = _grant(request, pk)
    if not _can_close(request.user, grant):
        if grant.status == GrantStatus.CLOSED:
            messages.error(request, "Cette subvention est déjà clôturée.")
            return redirect("payments:ledger", pk=pk)
        raise PermissionDenied("Seule l'ARS de la région clôture une subvention.")
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            payments.close(grant, request.user, form.cleaned_data["reason"])
        except ProofsError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"La subvention {grant.convention_reference} est clôturée : les versements "
                                      "prévus non ordonnancés sont annulés.")
            return redirect("payments:ledger", pk=pk)
    return _ledger_page(request, grant, form, status=400)
