"""A proofs dossier refused or closed no longer leads to payments; one taken back is recomputed."""

from django.dispatch import receiver

from guichet.calls.models import CallKind
from guichet.dossiers.workflow import transitioned


@receiver(transitioned)
def reschedule_payments(sender, dossier, event, transition, **kwargs):
    if dossier.call.kind == CallKind.PROOFS and dossier.invoice_lines.exists():
        from .payments import schedule

        schedule(dossier)
