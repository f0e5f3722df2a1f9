"""Messages of a dossier's thread, their attachments, and the documents a dossier still awaits.

A message is plain text, written by a member of the dossier (applicant side) or by the ARS staff of
the call's region; a state change posts a system message from the ARS. A message is deleted softly,
by its author, within ``GUICHET_MESSAGE_EMAIL_DELAY_SECONDS`` (the applicant is e-mailed only after
that delay, so that a message sent by mistake never reaches anyone).

An *awaited document* is one of the call's required documents that may come later (e.g. the CSE
opinion): it is created when the dossier is filed and stops being awaited when an applicant sends
it through the messagerie.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from guichet.core.models import StoredFile


def email_delay_seconds() -> int:
    return int(getattr(settings, "GUICHET_MESSAGE_EMAIL_DELAY_SECONDS", 300))


class MessageKind(models.TextChoices):
    MESSAGE = "message", "Message"
    STATE_CHANGE = "state_change", "Changement d'état"
    CORRECTION_REQUEST = "correction_request", "Demande de correction"


class MessageQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(deleted_at__isnull=True)


class Message(models.Model):
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name="auteur")
    body = models.TextField("message")
    from_ars = models.BooleanField("envoyé par l'ARS", default=False)
    kind = models.CharField("type", max_length=20, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    created_at = models.DateTimeField("envoyé le", default=timezone.now, db_index=True)
    deleted_at = models.DateTimeField("supprimé le", null=True, blank=True)
    email_sent_at = models.DateTimeField("notifié par courriel le", null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["dossier", "created_at"])]

    def __str__(self):
        return f"Message {self.pk} du dossier {self.dossier_id}"

    @property
    def deletable_until(self) -> dt.datetime:
        return self.created_at + dt.timedelta(seconds=email_delay_seconds())

    def can_delete(self, user, now=None) -> bool:
        """Only its author, only a plain message, only within the delay and before anyone was e-mailed
        about an ARS message."""
        now = now or timezone.now()
        return (user.is_authenticated and self.author_id == user.pk and self.kind == MessageKind.MESSAGE
                and self.deleted_at is None and now < self.deletable_until
                and not (self.from_ars and self.email_sent_at))


class MessageAttachment(StoredFile):
    """A file sent with a message; served only through the messagerie's permission-checked view."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")

    class Meta:
        verbose_name = "pièce jointe d'un message"


class AwaitedDocumentQuerySet(models.QuerySet):
    def awaited(self):
        return self.filter(received_at__isnull=True)


class AwaitedDocument(models.Model):
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="awaited_documents")
    label = models.CharField("pièce", max_length=255)
    part = models.PositiveIntegerField("partie", null=True, blank=True)
    since = models.DateTimeField("attendue depuis", default=timezone.now)
    received_at = models.DateTimeField("reçue le", null=True, blank=True)
    received_message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="received_documents")

    objects = AwaitedDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["part", "label", "pk"]
        verbose_name = "pièce attendue"
        constraints = [models.UniqueConstraint(fields=["dossier", "label"], name="one_awaited_document_per_label")]

    def __str__(self):
        return f"{self.label} (partie {self.part})" if self.part else self.label


class ThreadRead(models.Model):
    """When a user last viewed a dossier's thread: the messages of the other side written after it are
    unread for them. Per user, so that each instructor and each member of a dossier has their own count."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="+")
    last_read_at = models.DateTimeField("lu jusqu'au")

    class Meta:
        verbose_name = "lecture d'une messagerie"
        constraints = [models.UniqueConstraint(fields=["user", "dossier"], name="one_thread_read_per_user")]
