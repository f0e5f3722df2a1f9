"""What makes precomputed statistics stale (``snapshots.mark_stale``): a dossier changing state at the ARS' hand,
a grant, a payment, a commission's action line or a call (its envelope) saved or deleted.

A filing does not: at a deadline hundreds of applicants file within minutes, and a filing must not pay for the
figures (its query count is asserted, ``tests/test_query_counts.py``). Filings reach the figures when a snapshot
older than ``GUICHET_STATISTICS_MAX_AGE`` is read (``snapshots.get`` then queues its refresh)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from guichet.calls.models import Call
from guichet.commission.models import ActionLine
from guichet.dossiers.workflow import transitioned
from guichet.funding.models import Grant, Payment

from . import snapshots


@receiver(transitioned, dispatch_uid="reporting.statistics_stale_on_transition")
def dossier_transitioned(sender, dossier, **kwargs):
    snapshots.mark_stale(snapshots.keys_for(dossier.call_id, dossier.call.region_id))


@receiver(post_save, sender=Call, dispatch_uid="reporting.statistics_stale_on_call")
@receiver(post_delete, sender=Call, dispatch_uid="reporting.statistics_stale_on_call_delete")
def call_changed(sender, instance, **kwargs):
    snapshots.mark_stale(snapshots.keys_for(instance.pk, instance.region_id))


@receiver(post_save, sender=Grant, dispatch_uid="reporting.statistics_stale_on_grant")
@receiver(post_delete, sender=Grant, dispatch_uid="reporting.statistics_stale_on_grant_delete")
def grant_changed(sender, instance, **kwargs):
    snapshots.mark_stale(snapshots.keys_for(instance.call_id, instance.region_id))


@receiver(post_save, sender=Payment, dispatch_uid="reporting.statistics_stale_on_payment")
@receiver(post_delete, sender=Payment, dispatch_uid="reporting.statistics_stale_on_payment_delete")
def payment_changed(sender, instance, **kwargs):
    # Its grant's call and region, looked up after the commit (the payment's own call is the proofs call).
    snapshots.mark_stale([f"grant-action:{instance.action_id}", *snapshots.keys_for(instance.call_id)])


@receiver(post_save, sender=ActionLine, dispatch_uid="reporting.statistics_stale_on_action_line")
@receiver(post_delete, sender=ActionLine, dispatch_uid="reporting.statistics_stale_on_action_line_delete")
def action_line_changed(sender, instance, **kwargs):
    snapshots.mark_stale([f"agenda-item:{instance.item_id}"])
