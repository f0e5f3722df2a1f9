"""Signals keeping the workspace index in step with dossiers (connected in ``InstructionConfig.ready``)."""

from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from guichet.dossiers.models import Dossier

from .index import reindex
from .models import DossierIndex, Label


@receiver(post_save, sender=Dossier, dispatch_uid="instruction_reindex_dossier")
def dossier_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        reindex(instance)


@receiver(m2m_changed, sender=Dossier.followers.through, dispatch_uid="instruction_followers_changed")
def followers_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    if isinstance(instance, Dossier):
        if action == "pre_clear":
            return
        DossierIndex.objects.filter(pk=instance.pk).update(followed=instance.followers.exists())
        return
    # From the user's side (user.followed_dossiers.add/remove/clear).
    if action == "pre_clear":
        instance._instruction_cleared = list(instance.followed_dossiers.values_list("pk", flat=True))
        return
    ids = list(pk_set or []) or getattr(instance, "_instruction_cleared", [])
    through = Dossier.followers.through.objects
    for dossier_id in ids:
        DossierIndex.objects.filter(pk=dossier_id).update(
            followed=through.filter(dossier_id=dossier_id).exists())


@receiver(m2m_changed, sender=Label.dossiers.through, dispatch_uid="instruction_labels_changed")
def labels_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if action == "pre_clear" and isinstance(instance, Label):
        instance._instruction_cleared = list(instance.dossiers.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if isinstance(instance, Dossier):
        ids = [instance.pk]
    else:
        ids = list(pk_set or []) or getattr(instance, "_instruction_cleared", [])
    through = Label.dossiers.through.objects
    for dossier_id in ids:
        DossierIndex.objects.filter(pk=dossier_id).update(
            label_ids=sorted(through.filter(dossier_id=dossier_id).values_list("label_id", flat=True)))
