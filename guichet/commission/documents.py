"""The documents of a decision: letters, conventions or CPOM amendments (*avenants*), the session's
minutes (*procès-verbal*), all generated as PDF from the region's templates (``guichet.documents``);
and the signed convention uploaded back, which makes the grant active.

The templates receive plain data only (see ``guichet.documents.placeholders``), built here.
"""

import hashlib
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from guichet.accounts.permissions import is_ars_of
from guichet.core.files import store_upload
from guichet.core.models import ScanStatus
from guichet.dossiers.models import Dossier

from .models import AgendaItem, Decision, Document, DocumentKind, Session

ZERO = Decimal("0.00")
LETTER_TEMPLATES = {Decision.ACCEPT: "lettre_acceptation", Decision.REFUSE: "lettre_refus",
                    Decision.CLOSE: "lettre_sans_suite"}


def _establishment(est) -> dict:
    return {"nom": est.name, "finess": est.finess, "siret": est.siret, "adresse": "", "commune": est.city}


def _legal_entity(entity) -> dict:
    if entity is None:
        return {"nom": "", "finess": "", "siren": ""}
    return {"nom": entity.name, "finess": entity.finess, "siren": entity.siren}


def _action(line) -> dict:
    """An action as the templates see it; its ceiling (*plafond*) is what the convention fixes: the
    amount granted."""
    return {"intitule": line.title, "etablissements": line.establishments, "cout": line.cost,
            "cout_eligible": line.eligible_cost, "demande": line.requested, "propose": line.proposed,
            "accorde": line.granted or ZERO, "plafond": line.granted or ZERO}


def _signatory(session: Session) -> dict:
    return {"nom": session.signatory_name, "qualite": session.signatory_title}


def item_context(item: AgendaItem) -> dict:
    session, dossier = item.session, item.dossier
    call = session.call
    lines = list(item.lines.all())
    granted = [line for line in lines if (line.granted or 0) > 0] if item.decision == Decision.ACCEPT else lines
    grant = getattr(dossier, "grant", None) if item.decision == Decision.ACCEPT else None
    decided = timezone.localtime(item.applied_at or timezone.now()).date()
    return {
        "region": call.region.name,
        "etablissement": _establishment(dossier.establishment),
        "entite_juridique": _legal_entity(dossier.establishment.legal_entity),
        "appel": {"titre": call.title, "annee": call.year},
        "dossier": {"numero": dossier.number or "",
                    "depose_le": timezone.localtime(dossier.first_filed_at).date() if dossier.first_filed_at else None},
        "actions": [_action(line) for line in granted],
        "total_demande": sum((line.requested for line in lines), ZERO),
        "total_accorde": sum((line.granted or ZERO for line in granted), ZERO),
        "taux": call.cofinancing_rate,
        "decision": {"date": decided, "motivation": item.motivation},
        "convention": {"reference": grant.convention_reference if grant else "",
                       "debut": session.convention_starts_on, "fin": session.convention_ends_on},
        "signataire": _signatory(session),
        "date_du_jour": timezone.localdate(),
    }


def session_context(session: Session) -> dict:
    from .arbitration import totals
    from .scoring import scores_of

    call = session.call
    items = list(session.items.select_related("dossier__establishment").prefetch_related("lines"))
    scores = scores_of([i.dossier_id for i in items], list(call.criteria.all()))
    sums = totals(call)
    dossiers = []
    for item in items:
        lines = list(item.lines.all())
        dossiers.append({
            "numero": item.dossier.number or "", "etablissement": item.dossier.establishment.name,
            "finess": item.dossier.establishment.finess, "score": scores[item.dossier_id].mean,
            "demande": sum((line.requested for line in lines), ZERO),
            "propose": sum((line.proposed or ZERO for line in lines), ZERO),
            "accorde": sum((line.granted or ZERO for line in lines), ZERO),
            "decision": item.outcome, "motivation": item.motivation,
            "actions": [_action(line) for line in lines],
        })
    return {
        "region": call.region.name, "appel": {"titre": call.title, "annee": call.year},
        "seance": {"titre": session.title, "date": timezone.localtime(session.held_on), "lieu": session.place},
        "membres": [{"nom": m.user.get_full_name() or m.user.email, "qualite": m.get_capacity_display()
                     + (f" — {m.organisation}" if m.organisation else "")}
                    for m in session.members.select_related("user")],
        "dossiers": dossiers, "enveloppe": sums.envelope, "engage": sums.committed, "reste": sums.remaining,
        "total_accorde": sum((d["accorde"] for d in dossiers), ZERO), "signataire": _signatory(session),
        "date_du_jour": timezone.localdate(),
    }


def _store(kind: str, pdf: bytes, name: str, *, dossier=None, session=None) -> Document:
    document = Document(kind=kind, dossier=dossier, session=session, original_name=name, size=len(pdf),
                        content_type="application/pdf", sha256=hashlib.sha256(pdf).hexdigest(),
                        # Produced by the platform itself, from its own templates: nothing to scan.
                        scan_status=ScanStatus.SAFE, scan_detail="Document produit par la plateforme",
                        scanned_at=timezone.now())
    document.file.save(f"decisions/{timezone.now():%Y/%m}/{kind}-{document.sha256[:16]}.pdf", ContentFile(pdf),
                       save=False)
    document.save()
    return document


def generate_item_documents(item: AgendaItem) -> list[Document]:
    """The letter for a decided dossier and, when accepted, its convention or CPOM amendment."""
    from guichet.documents.render import render_pdf

    region = item.session.call.region
    context = item_context(item)
    number = item.dossier.number or str(item.dossier.pk)
    made = [_store(DocumentKind.LETTER, render_pdf(LETTER_TEMPLATES[item.decision], region, context),
                   f"Lettre de notification {number}.pdf", dossier=item.dossier)]
    if item.decision == Decision.ACCEPT:
        kind = DocumentKind.AVENANT if item.convention_kind == DocumentKind.AVENANT else DocumentKind.CONVENTION
        label = "Avenant CPOM" if kind == DocumentKind.AVENANT else "Convention de financement"
        made.append(_store(kind, render_pdf(kind.value, region, context), f"{label} {number}.pdf",
                           dossier=item.dossier))
    return made


def generate_minutes(session: Session) -> Document:
    from guichet.documents.render import render_pdf

    pdf = render_pdf("proces_verbal", session.call.region, session_context(session))
    return _store(DocumentKind.MINUTES, pdf, f"Procès-verbal — {session.title}.pdf", session=session)


@task()
def generate_for_item(item_id: int) -> None:
    """After the decisions are applied: one dossier's letter (and convention). One task per dossier, so
    that workers share a session's documents and a failure is retried alone."""
    item = (AgendaItem.objects.select_related("session__call__region", "dossier__establishment__legal_entity",
                                              "dossier__grant").prefetch_related("lines").get(pk=item_id))
    generate_item_documents(item)


@task()
def generate_minutes_task(session_id: int) -> None:
    """The minutes (a draft while the session is open, the final text once its decisions are applied)."""
    generate_minutes(Session.objects.select_related("call__region").get(pk=session_id))


def enqueue_decision_documents(session: Session) -> None:
    """Queue the letters and conventions of every decided dossier, then the minutes."""
    for item_id in (session.items.exclude(decision=Decision.POSTPONE).filter(applied_at__isnull=False)
                    .values_list("pk", flat=True)):
        generate_for_item.enqueue(item_id)
    generate_minutes_task.enqueue(session.pk)


def latest(dossier: Dossier) -> dict[str, Document]:
    """The newest document of each kind for a dossier."""
    found = {}
    for document in dossier.decision_documents.order_by("created_at", "pk"):
        found[document.kind] = document
    return found


def can_download(user, document: Document) -> bool:
    """Members of the dossier and its region's ARS staff; the minutes: the ARS and the session's members."""
    from .arbitration import can_manage, can_see_session

    if document.session_id:
        return can_see_session(user, document.session)
    dossier = document.dossier
    return can_manage(user, dossier.call) or (user.is_authenticated and dossier.members.filter(pk=user.pk).exists())


def upload_signed_convention(grant, upload, user, signed_on) -> Document:
    """The convention signed by both parties, uploaded back by the ARS or the establishment: kept with
    the dossier's documents, and the grant becomes active."""
    from guichet.funding.services import activate

    dossier = grant.dossier
    allowed = dossier is not None and (
        is_ars_of(user, grant.region_id) or (user.is_authenticated and dossier.members.filter(pk=user.pk).exists()))
    if not allowed:
        raise PermissionDenied("Seuls l'établissement et l'ARS de la région déposent la convention signée.")
    if upload is None:
        raise ValidationError({"file": "Joignez la convention signée."})
    with transaction.atomic():
        document = store_upload(Document(kind=DocumentKind.SIGNED_CONVENTION, dossier=dossier), upload,
                                folder="decisions", prefix="convention-signee", user=user)
        activate(grant, user, signed_on, document=document)
    return document
