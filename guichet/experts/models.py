"""Expert opinions (*avis*): an instructor asks an expert, by e-mail, a question about one dossier.

The expert answers through a secret link, with text and a file, and sees nothing but that dossier
and their own request. A *confidential* request is shown only to the ARS, never to the other
experts asked about the same dossier.
"""

import secrets

from django.conf import settings
from django.db import models

from guichet.core.models import StoredFile


def new_token() -> str:
    return secrets.token_urlsafe(32)


class ExpertRequestQuerySet(models.QuerySet):
    def instructed_by(self, user):
        """Requests on dossiers this ARS user may instruct (their region; all for a superuser)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.is_ars_staff:
            return self.filter(dossier__call__region_id=user.region_id)
        return self.none()

    def pending(self):
        return self.filter(answered_at__isnull=True, revoked_at__isnull=True)


class ExpertRequest(models.Model):
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="expert_requests")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    email = models.EmailField("adresse électronique de l'expert")
    question = models.TextField("question posée")
    confidential = models.BooleanField("avis confidentiel", default=False,
                                       help_text="Visible seulement par l'ARS, pas par les autres experts.")
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_at = models.DateTimeField(auto_now_add=True)
    answer = models.TextField("avis", blank=True)
    answered_at = models.DateTimeField("répondu le", null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField("annulée le", null=True, blank=True)

    objects = ExpertRequestQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "demande d'avis"
        verbose_name_plural = "demandes d'avis"

    def __str__(self):
        return f"Avis de {self.email} sur {self.dossier}"

    @property
    def status_label(self) -> str:
        if self.revoked_at:
            return "Annulée"
        return "Avis rendu" if self.answered_at else "En attente de l'avis"


class ExpertFile(StoredFile):
    """A file joined to the question (by the ARS) or to the answer (by the expert)."""

    QUESTION, ANSWER = "question", "answer"
    request = models.ForeignKey(ExpertRequest, on_delete=models.CASCADE, related_name="files")
    side = models.CharField(max_length=10, choices=[(QUESTION, "Question"), (ANSWER, "Avis")])
