"""API endpoints of payments: grants with what was paid, committed and what remains per action; a proofs
call's dossiers with their invoices and the instructor's verdicts; payments and payment orders. Three writes:
an invoice's verdict, an order marked paid and a convention's total.

They call the same domain functions as the ARS' pages (``payments.validate_line``, ``payments.mark_paid``,
``payments.ledger``, ``balances.compute``, ``services.set_total``): the same rules, the same French
messages, the same audit trail.
Everything is reached through the web pages' scopes (``Call.objects.instructed_by``,
``Dossier.objects.visible_to``, ``Grant.objects.visible_to``); anything of another region answers 404.
Money is a decimal string, dates are ISO dates, date-times are in Paris time. Each endpoint runs a fixed
number of SQL queries whatever the number of rows; lists are paginated with a cursor (the last id seen).
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, Sum
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError, ValidationError
from pydantic import Field

from guichet.api.auth import require_write
from guichet.api.errors import responses
from guichet.api.inputs import InputSchema, id_param, slug_param
from guichet.api.pagination import cursor_param, money, page
from guichet.api.schemas import decimal_string, paris_time
from guichet.calls.models import CallKind
from guichet.core import audit
from guichet.core.money import MAX_AMOUNT
from guichet.funding import balances, exports, payments, services
from guichet.funding.models import (
    Grant,
    GrantAction,
    GrantStatus,
    InvoiceLine,
    LineStatus,
    Payment,
    PaymentOrder,
    PaymentStatus,
)
from guichet.funding.payees import payee_ids
from guichet.funding.payments import ProofsError

router = Router(tags=["versements"])

# The same page sizes and cursor rule as the dossier list (guichet.api.api imports this module at its end).
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
LIST_ERRORS = responses(400, 401, 404, 422)  # a bad cursor, no token, an unknown call filter, a bad parameter
# An unreadable body (400), no token (401), a read-only token (403), out of reach (404), a state that forbids it
# (409), a refused field (422).
WRITE_ERRORS = responses(400, 401, 403, 404, 409, 422)
MONEY = "chaîne décimale, en euros"
NEXT_CURSOR = Field(description="À passer en ?cursor= pour obtenir la page suivante ; null sur la dernière page.")
STATUS_LABELS = dict(PaymentStatus.choices)
ZERO = Decimal("0.00")


# --- schemas -----------------------------------------------------------------------------------

class WindowOut(Schema):
    index: int = Field(description="Rang de la fenêtre de versement dans l'appel (à partir de 0).")
    label: str
    pay_by: dt.date = Field(description="Versement au plus tard le.")


class ActionAmountsOut(Schema):
    id: int
    position: int
    title: str
    ceiling: str = Field(description=f"Plafond de l'action ({MONEY}).")
    paid_before: str = Field(description=f"Versé avant la plateforme ({MONEY}).")
    paid: str = Field(description=f"Versé : avant la plateforme et par les ordres marqués versés ({MONEY}).")
    committed: str = Field(description=f"Prévu ou ordonnancé, pas encore versé ({MONEY}).")
    ceiling_remaining: str = Field(description=f"Reste sur le plafond : plafond − versé − engagé, jamais négatif "
                                               f"({MONEY}).")
    remaining: str = Field(description=f"Reste disponible : le reste sur le plafond, dans la limite de ce que laisse "
                                       f"le montant total de la convention ({MONEY}).")
    remaining_reason: str = Field(description="Pourquoi le reste disponible est inférieur au reste sur le plafond (le "
                                              "total de la convention est atteint) ; vide sinon.")


class PartyOut(Schema):
    name: str
    finess: str
    siren: str = ""
    siret: str = ""


class LedgerGrantOut(Schema):
    id: int
    convention_reference: str
    call_year: int
    beneficiary: PartyOut = Field(description="Établissement porteur (FINESS géographique, SIRET).")
    legal_entity: PartyOut | None = Field(description="Entité juridique (FINESS juridique, SIREN).")
    rate: str = Field(description="Taux de cofinancement en %, chaîne décimale.")
    invoice_basis: str = Field(description="ttc, ou ht quand le bénéficiaire récupère la TVA.")
    total: str = Field(description=f"Montant total accordé : celui de la convention, au plus la somme des plafonds "
                                   f"({MONEY}).")
    ceilings: str = Field(description=f"Somme des plafonds des actions ({MONEY}).")
    available: str = Field(description=f"Reste disponible sur la subvention : ce que laissent le total et les plafonds "
                                       f"({MONEY}).")
    available_reason: str = Field(description="Pourquoi le reste disponible est inférieur à ce que laissent les "
                                              "plafonds (le total de la convention) ; vide sinon.")
    status: GrantStatus
    status_label: str
    closed_at: dt.datetime | None
    closing_reason: str
    actions: list[ActionAmountsOut]


class LedgerPage(Schema):
    items: list[LedgerGrantOut]
    next_cursor: str | None = NEXT_CURSOR


class LedgerEntryOut(Schema):
    date: dt.date | None = Field(description="Versé le, sinon versement au plus tard le (signature de la convention "
                                             "pour ce qui a été versé avant la plateforme).")
    label: str
    action: str
    amount: str
    status: PaymentStatus
    status_label: str


class BalanceOut(Schema):
    total: str
    paid: str
    pending: str = Field(description=f"Prévu ou ordonnancé ({MONEY}).")
    remaining: str


class LedgerOut(LedgerGrantOut):
    entries: list[LedgerEntryOut]
    balance: BalanceOut


class InvoiceLineOut(Schema):
    id: int
    dossier: str | None = Field(description="Numéro du dossier de justificatifs.")
    grant: int
    convention_reference: str
    action: int = Field(description="Identifiant de l'action financée.")
    action_title: str
    establishment: str | None = Field(description="FINESS de l'établissement de la facture, s'il est indiqué.")
    supplier: str
    number: str
    invoice_date: dt.date
    amount_ht: str
    amount_ttc: str
    has_file: bool = Field(description="Une facture (fichier) est jointe.")
    source: str = Field(description="online (saisie en ligne) ou bordereau.")
    status: LineStatus
    status_label: str
    accepted_amount: str | None = Field(description=f"Montant retenu d'une facture acceptée en partie ({MONEY}).")
    reason: str
    validated_by: str | None
    validated_at: dt.datetime | None
    received_at: dt.datetime | None = Field(description="Reçue par l'ARS le (heure de Paris) : le dépôt, ou le dépôt "
                                                        "des corrections, qui l'a apportée ; null avant.")
    window: WindowOut | None = Field(description="Fenêtre de versement de sa réception ; null hors fenêtre.")
    not_paid_this_year: str = Field(description="Reçue après la dernière fenêtre de l'exercice : pourquoi elle n'est "
                                                "pas payée sur cet exercice et où l'envoyer ; vide sinon.")


class DossierPaymentOut(Schema):
    id: int
    action: int
    amount: str
    window: WindowOut
    status: PaymentStatus
    status_label: str


class ProofsDossierOut(Schema):
    id: int
    number: str | None
    state: str
    establishment: PartyOut
    first_filed_at: dt.datetime | None
    received_on: dt.date | None = Field(description="Date du premier dépôt des justificatifs (heure de Paris) ; "
                                                    "chaque facture a sa propre date de réception (received_at), "
                                                    "qui fixe sa fenêtre de versement.")
    window: WindowOut | None = Field(description="Fenêtre de versement du premier dépôt ; null hors fenêtre.")
    invoice_lines: list[InvoiceLineOut]
    payments: list[DossierPaymentOut]


class ProofsDossierPage(Schema):
    items: list[ProofsDossierOut]
    next_cursor: str | None = NEXT_CURSOR


class PaymentOut(Schema):
    id: int
    call: str
    window: WindowOut
    dossier: str | None
    grant: int
    convention_reference: str
    action: int
    action_title: str
    beneficiary: PartyOut
    legal_entity: PartyOut | None
    amount: str
    status: PaymentStatus
    status_label: str
    order: int | None
    paid_on: dt.date | None
    reference: str


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None = NEXT_CURSOR


class OrderSummaryOut(Schema):
    id: int
    call: str
    window: WindowOut
    created_at: dt.datetime
    created_by: str
    paid_on: dt.date | None
    reference: str
    status: str = Field(description="ordonnance, ou verse une fois marqué versé.")
    lines: int = Field(description="Nombre de versements de l'ordre.")
    total: str


class OrderPage(Schema):
    items: list[OrderSummaryOut]
    next_cursor: str | None = NEXT_CURSOR


class OrderLineOut(Schema):
    legal_entity: PartyOut
    establishment: PartyOut
    grant: int
    convention_reference: str
    action: str
    dossiers: list[str]
    amount: str


class OrderOut(OrderSummaryOut):
    order_lines: list[OrderLineOut] = Field(description="Une ligne par entité juridique et action.")
    payments: list[int] = Field(description="Identifiants des versements de l'ordre.")


class ValidationIn(InputSchema):
    status: str = Field(description="acceptee, partielle (acceptée en partie), rejetee ; a_valider remet la facture "
                                    "à valider.", json_schema_extra={"enum": list(LineStatus.values)})
    accepted_amount: Decimal | None = Field(None, allow_inf_nan=False, ge=0, le=MAX_AMOUNT,
                                            description="Montant retenu, pour « partielle ».")
    reason: str = Field("", max_length=1000, description="Motif, obligatoire pour « partielle » et « rejetee » "
                                                         "(1 000 caractères au plus) ; l'établissement le voit.")


class ValidationOut(Schema):
    line: InvoiceLineOut
    payments: list[DossierPaymentOut] = Field(description="Les versements du dossier, recalculés.")


class TotalIn(InputSchema):
    total: Decimal = Field(allow_inf_nan=False, ge=0, le=MAX_AMOUNT,
                           description="Montant total de la convention, en euros (chaîne ou nombre décimal, deux "
                                       "décimales au plus).")
    # Required, and refused when blank by the domain (services.set_total) with its own message at the field.
    reason: str = Field(max_length=300, description="Motif du changement, ni vide ni fait d'espaces, 300 caractères au "
                                                    "plus ; il est conservé dans le journal d'audit.",
                        json_schema_extra={"minLength": 1})


class PaidIn(InputSchema):
    paid_on: dt.date = Field(ge=dt.date(2000, 1, 1), description="Date du versement : au plus tôt celle de l'ordre, au "
                                                                 "plus tard aujourd'hui.")
    # Refused when blank by the domain (payments.mark_paid) with its own message at the field.
    reference: str = Field(max_length=100, description="Référence du paiement (mandat, bordereau de la paierie…), ni "
                                                       "vide ni faite d'espaces, 100 caractères au plus.",
                           json_schema_extra={"minLength": 1})


# --- helpers -----------------------------------------------------------------------------------

def _calls(request):
    from guichet.api.api import scoped_calls

    return scoped_calls(request.auth)




def _party(name, finess, siren="", siret="") -> dict:
    return {"name": name, "finess": finess, "siren": siren or "", "siret": siret or ""}


def _window(index, label, pay_by) -> dict:
    return {"index": index, "label": label, "pay_by": pay_by}


def _grants(user):
    return (Grant.objects.visible_to(user).select_related("beneficiary__legal_entity", "legal_entity",
                                                          "dossier__form_version")
            .prefetch_related(Prefetch("actions", queryset=GrantAction.objects.order_by("position"))))


def _grant(grant, found) -> dict:
    """``found``: ``balances.compute``'s (grant balances, action balances)."""
    grant_balances, action_balances = found
    summary = grant_balances[grant.pk]
    entity = grant.legal_entity or grant.beneficiary.legal_entity
    ids = payee_ids(grant)
    return {
        "id": grant.pk, "convention_reference": grant.convention_reference, "call_year": grant.call_year,
        "beneficiary": _party(grant.beneficiary.name, grant.beneficiary.finess, siret=ids.siret),
        "legal_entity": None if entity is None else _party(entity.name, entity.finess, siren=ids.siren),
        "rate": str(grant.rate), "invoice_basis": grant.invoice_basis, "total": money(grant.total),
        "ceilings": money(summary.ceilings), "available": money(summary.available),
        "available_reason": summary.reason,
        "status": grant.status, "status_label": grant.get_status_display(),
        "closed_at": paris_time(grant.closed_at), "closing_reason": grant.closing_reason,
        "actions": [{"id": a.pk, "position": a.position, "title": a.title, "ceiling": money(a.ceiling),
                     "paid_before": money(a.paid_before), "paid": money(action_balances[a.pk].paid),
                     "committed": money(action_balances[a.pk].committed),
                     "ceiling_remaining": money(action_balances[a.pk].ceiling_left),
                     "remaining": money(action_balances[a.pk].remaining),
                     "remaining_reason": action_balances[a.pk].reason}
                    for a in grant.actions.all()],
    }


def _line(line) -> dict:
    grant = line.action.grant
    window = payments.line_window(line)
    return {
        "id": line.pk, "dossier": line.dossier.number, "grant": grant.pk,
        "convention_reference": grant.convention_reference, "action": line.action_id,
        "action_title": line.action.title, "establishment": line.establishment.finess if line.establishment else None,
        "supplier": line.supplier, "number": line.number, "invoice_date": line.invoice_date,
        "amount_ht": money(line.amount_ht), "amount_ttc": money(line.amount_ttc),
        "has_file": line.attachment_id is not None, "source": line.source, "status": line.status,
        "status_label": line.get_status_display(), "accepted_amount": decimal_string(line.accepted_amount),
        "reason": line.reason, "validated_by": line.validated_by.email if line.validated_by else None,
        "validated_at": paris_time(line.validated_at), "received_at": paris_time(line.received_at),
        "window": None if window is None else _window(window.index, window.label, window.pay_by),
        "not_paid_this_year": payments.why_line_not_paid_this_year(line),
    }


def _dossier_payment(p) -> dict:
    return {"id": p.pk, "action": p.action_id, "amount": money(p.amount),
            "window": _window(p.window_index, p.window_label, p.pay_by), "status": p.status,
            "status_label": STATUS_LABELS.get(p.status, p.status)}


LINE_RELATIONS = ("dossier__call", "action__grant", "establishment", "validated_by")


def _lines_queryset():
    return InvoiceLine.objects.select_related(*LINE_RELATIONS).defer(
        "dossier__answers", "dossier__pending").order_by("action__grant__convention_reference", "action__position",
                                                         "invoice_date", "pk")


def _order_summary(order) -> dict:
    return {"id": order.pk, "call": order.call.slug,
            "window": _window(order.window_index, order.window_label, order.pay_by),
            "created_at": paris_time(order.created_at), "created_by": order.created_by.email,
            "paid_on": order.paid_on, "reference": order.reference,
            "status": PaymentStatus.PAID if order.paid_on else PaymentStatus.ORDERED,
            "lines": order.n_payments, "total": money(order.total)}


def _orders(request):
    return (PaymentOrder.objects.filter(call__in=_calls(request)).select_related("call", "created_by")
            .annotate(n_payments=Count("payments"), total=Sum("payments__amount")))


# --- grants: per-action amounts and the ledger --------------------------------------------------

@router.get("/ledgers", response={200: LedgerPage, **LIST_ERRORS},
            summary="Subventions de la région : par action, plafond, versé, engagé et reste (pagination par curseur)")
def list_ledgers(
    request,
    call_year: int | None = Query(None, ge=1, le=9999, description="Année de l'appel à projets de la subvention."),
    status: GrantStatus | None = None,
    legal_entity: str | None = Query(None, description="FINESS juridique de l'entité juridique."),
    cursor: str | None = cursor_param(),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    grants = _grants(request.auth)
    if call_year is not None:
        grants = grants.filter(call_year=call_year)
    if status is not None:
        grants = grants.filter(status=status)
    if legal_entity:
        grants = grants.filter(legal_entity__finess=legal_entity)
    rows, next_cursor = page(grants, cursor, limit)
    found = balances.compute(rows)
    return {"items": [_grant(g, found) for g in rows], "next_cursor": next_cursor}


@router.get("/ledgers/{grant_id}", response={200: LedgerOut, **responses(401, 404, 422)},
            summary="Grand livre d'une subvention : actions et montants, versements un à un, soldes")
def get_ledger(request, grant_id: int = id_param("de la subvention")):
    grant = get_object_or_404(_grants(request.auth), pk=grant_id)
    audit.record(request.auth, "api:read", grant.dossier_id, request, obj=grant, resource="ledger")
    return _ledger(grant)


def _ledger(grant) -> dict:
    entries = payments.ledger(grant)
    found = balances.compute([grant])
    summary = found[0][grant.pk]
    return {**_grant(grant, found),
            "entries": [{"date": e.when, "label": e.label, "action": e.action, "amount": money(e.amount),
                         "status": e.status, "status_label": STATUS_LABELS.get(e.status, e.status)} for e in entries],
            "balance": {"total": money(summary.total), "paid": money(summary.paid),
                        "pending": money(summary.committed), "remaining": money(summary.remaining)}}


@router.post("/ledgers/{grant_id}/total", response={200: LedgerOut, **WRITE_ERRORS},
             summary="Fixer le montant total de la convention (au plus la somme des plafonds, au moins ce qui est "
                     "versé ou ordonnancé), avec un motif ; les versements prévus sont recalculés")
def set_total(request, payload: TotalIn, grant_id: int = id_param("de la subvention")):
    require_write(request)
    grant = get_object_or_404(_grants(request.auth), pk=grant_id)
    try:
        services.set_total(grant, request.auth, payload.total, payload.reason, request=request)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    except DjangoValidationError as exc:
        _refuse(exc)
    return _ledger(get_object_or_404(_grants(request.auth), pk=grant_id))


# --- proofs dossiers and their invoices --------------------------------------------------------

@router.get("/calls/{slug}/proofs-dossiers", response={200: ProofsDossierPage, **LIST_ERRORS},
            summary="Dossiers de justificatifs d'un appel, avec leurs factures, leur validation et leurs versements")
def list_proofs_dossiers(
    request,
    slug: str = slug_param(),
    cursor: str | None = cursor_param(),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    from guichet.api.api import scoped_dossiers

    call = get_object_or_404(_calls(request).filter(kind=CallKind.PROOFS), slug=slug)
    dossiers = (scoped_dossiers(request.auth).filter(call=call).defer("answers").prefetch_related(
        Prefetch("invoice_lines", queryset=_lines_queryset()),
        Prefetch("payments", queryset=Payment.objects.exclude(status=PaymentStatus.CANCELLED).order_by("pk"))))
    rows, next_cursor = page(dossiers, cursor, limit)
    audit.record(request.auth, "api:read", request=request, obj=call, resource="proofs_dossiers",
                 dossiers=[d.pk for d in rows])
    items = []
    for d in rows:
        day = payments.receipt_day(d)
        window = payments.window_for(call, day) if day else None
        items.append({
            "id": d.pk, "number": d.number, "state": d.state,
            "establishment": _party(d.establishment.name, d.establishment.finess, siret=d.establishment.siret),
            "first_filed_at": paris_time(d.first_filed_at), "received_on": day,
            "window": None if window is None else _window(window.index, window.label, window.pay_by),
            "invoice_lines": [_line(line) for line in d.invoice_lines.all()],
            "payments": [_dossier_payment(p) for p in d.payments.all()]})
    return {"items": items, "next_cursor": next_cursor}


@router.post("/invoice-lines/{line_id}/validation", response={200: ValidationOut, **WRITE_ERRORS},
             summary="Valider une facture : acceptée, acceptée en partie (montant retenu) ou rejetée (motif) ; "
                     "les versements du dossier sont recalculés")
def validate_line(request, payload: ValidationIn, line_id: int = id_param("de la ligne de facture")):
    from guichet.api.api import scoped_dossiers

    require_write(request)
    line = get_object_or_404(InvoiceLine.objects.filter(dossier__in=scoped_dossiers(request.auth).values("pk"))
                             .select_related("dossier__call", "action__grant"), pk=line_id)
    try:
        payments.validate_line(line, request.auth, payload.status, accepted_amount=payload.accepted_amount,
                               reason=payload.reason, request=request)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    except ProofsError as exc:
        _refuse(exc)
    line = _lines_queryset().get(pk=line.pk)
    return {"line": _line(line), "payments": [_dossier_payment(p) for p in line.dossier.payments.exclude(
        status=PaymentStatus.CANCELLED).order_by("pk")]}


def _refuse(exc: ProofsError):
    """A message about a field: 422 with the French message at its field (as for any invalid parameter);
    about the state of the dossier or the order: 409."""
    if hasattr(exc, "error_dict"):
        raise ValidationError([{"loc": ["body", "payload", key], "msg": texts[0], "type": "value_error"}
                               for key, texts in exc.message_dict.items()])
    raise HttpError(409, exc.messages[0])


# --- payments and orders ----------------------------------------------------------------------

@router.get("/payments", response={200: PaymentPage, **LIST_ERRORS},
            summary="Versements calculés à partir des justificatifs (pagination par curseur)")
def list_payments(
    request,
    call: str | None = Query(None, description="Identifiant d'adresse (slug) de l'appel de justificatifs."),
    window: int | None = Query(None, ge=0, le=1000, description="Rang de la fenêtre de versement (à partir de 0)."),
    status: PaymentStatus | None = None,
    cursor: str | None = cursor_param(),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    found = (Payment.objects.filter(call__in=_calls(request))
             .select_related("call", "dossier__form_version", *exports.PAYMENT_RELATIONS)
             .defer("dossier__pending"))
    if call is not None:
        found = found.filter(call=get_object_or_404(_calls(request), slug=call))
    if window is not None:
        found = found.filter(window_index=window)
    if status is not None:
        found = found.filter(status=status)
    rows, next_cursor = page(found, cursor, limit)
    items = []
    for p in rows:
        grant = p.action.grant
        entity = grant.legal_entity or grant.beneficiary.legal_entity
        ids = payee_ids(grant, [p.dossier])
        items.append({
            "id": p.pk, "call": p.call.slug, "window": _window(p.window_index, p.window_label, p.pay_by),
            "dossier": p.dossier.number, "grant": grant.pk, "convention_reference": grant.convention_reference,
            "action": p.action_id, "action_title": p.action.title,
            "beneficiary": _party(grant.beneficiary.name, grant.beneficiary.finess, siret=ids.siret),
            "legal_entity": None if entity is None else _party(entity.name, entity.finess, siren=ids.siren),
            "amount": money(p.amount), "status": p.status, "status_label": STATUS_LABELS.get(p.status, p.status),
            "order": p.order_id, "paid_on": p.paid_on, "reference": p.reference})
    return {"items": items, "next_cursor": next_cursor}


@router.get("/payment-orders", response={200: OrderPage, **LIST_ERRORS},
            summary="Ordres de paiement de la région (pagination par curseur)")
def list_orders(
    request,
    call: str | None = Query(None, description="Identifiant d'adresse (slug) de l'appel de justificatifs."),
    cursor: str | None = cursor_param(),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    orders = _orders(request)
    if call is not None:
        orders = orders.filter(call=get_object_or_404(_calls(request), slug=call))
    rows, next_cursor = page(orders, cursor, limit)
    return {"items": [_order_summary(o) for o in rows], "next_cursor": next_cursor}


def _order_out(order) -> dict:
    found = list(exports.order_payments(order))
    return {**_order_summary(order), "payments": [p.pk for p in found],
            "order_lines": [{"legal_entity": _party(r.legal_entity, r.legal_entity_finess, siren=r.siren),
                             "establishment": _party(r.establishment, r.establishment_finess, siret=r.siret),
                             "grant": r.grant_id, "convention_reference": r.convention_reference,
                             "action": r.action, "dossiers": r.dossiers, "amount": money(r.amount)}
                            for r in exports.order_rows(found)]}


@router.get("/payment-orders/{order_id}", response={200: OrderOut, **responses(401, 404, 422)},
            summary="Un ordre de paiement et ses lignes, par entité juridique et action")
def get_order(request, order_id: int = id_param("de l'ordre de paiement")):
    order = get_object_or_404(_orders(request), pk=order_id)
    audit.record(request.auth, "api:read", request=request, obj=order)
    return _order_out(order)


@router.post("/payment-orders/{order_id}/paid", response={200: OrderOut, **WRITE_ERRORS},
             summary="Marquer un ordre de paiement comme versé (date et référence du paiement)")
def mark_paid(request, payload: PaidIn, order_id: int = id_param("de l'ordre de paiement")):
    require_write(request)
    order = get_object_or_404(_orders(request), pk=order_id)
    try:
        payments.mark_paid(order, request.auth, payload.paid_on, payload.reference)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    except ProofsError as exc:
        _refuse(exc)
    return _order_out(get_object_or_404(_orders(request), pk=order_id))
