"""Proofs dossiers and the workflow: invoices reach the ARS when the dossier (or its corrections) is filed,
or at the latest when the ARS takes it into instruction; every change of state recomputes the payments
(a refused or closed dossier no longer leads to any, one taken back is recomputed)."""

from django.dispatch import receiver

from guichet.calls.models import CallKind
from guichet.dossiers.workflow import filed, transitioned

RECEIVED_AT = {"deposer_corrections": "last_filed_at", "passer_en_instruction": "instruction_started_at"}


@receiver(filed)
def receive_invoices_at_filing(sender, dossier, at, **kwargs):
    if dossier.call.kind == CallKind.PROOFS:
        from .payments import receive_lines

        receive_lines(dossier, at)


@receiver(transitioned)
def reschedule_payments(sender, dossier, event, transition, **kwargs):
    if dossier.call.kind != CallKind.PROOFS:
        return
    from .payments import receive_lines, schedule

    if transition.event in RECEIVED_AT:
        receive_lines(dossier, getattr(dossier, RECEIVED_AT[transition.event]))
    if dossier.invoice_lines.exists() or dossier.payments.exists():
        schedule(dossier)
