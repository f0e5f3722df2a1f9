"""Listeners: awaited documents created when a dossier is filed; the thread told of every state change."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from guichet.dossiers.models import DossierEvent, EventKind
from guichet.dossiers.workflow import transitioned

from . import services


@receiver(post_save, sender=DossierEvent, dispatch_uid="messaging.awaited_documents_on_filing")
def awaited_documents_on_filing(sender, instance, created, raw=False, **kwargs):
    if created and not raw and instance.kind == EventKind.FILED:
        services.create_awaited_documents(instance.dossier, now=instance.at)


@receiver(transitioned, dispatch_uid="messaging.state_change_in_thread")
def state_change_in_thread(sender, dossier, event, transition, upload=None, **kwargs):
    services.post_state_change(dossier, event, transition, upload=upload)
