"""Shared building blocks of the domain models: stored files and their antivirus state.

Every file a person uploads (form fields now; messages and proofs later) is a ``StoredFile``:
kept in private storage under a generated name, with its original name, size, detected type,
SHA-256 computed while it was received, and the state of its antivirus scan. Only a file whose
state allows it is ever served (``is_servable``).
"""

from django.conf import settings
from django.db import models


class ScanStatus(models.TextChoices):
    PENDING = "pending", "Analyse antivirus en cours"
    SAFE = "safe", "Analysé, sans virus"
    INFECTED = "infected", "Refusé : virus détecté"
    ERROR = "error", "Analyse impossible"
    NOT_SCANNED = "not_scanned", "Non analysé (aucun antivirus configuré)"


class StoredFile(models.Model):
    file = models.FileField(max_length=500)
    original_name = models.CharField("nom du fichier", max_length=255)
    size = models.BigIntegerField("taille")
    content_type = models.CharField("type", max_length=255, blank=True)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)
    scan_status = models.CharField("antivirus", max_length=20, choices=ScanStatus.choices,
                                   default=ScanStatus.PENDING, db_index=True)
    scan_detail = models.CharField("résultat de l'analyse", max_length=255, blank=True)
    scanned_at = models.DateTimeField("analysé le", null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.original_name

    @property
    def is_servable(self) -> bool:
        """Safe files are served; so are files of an instance that has no antivirus at all, which says
        so on every page that shows them. Pending, infected or unscannable files never are."""
        return self.scan_status in (ScanStatus.SAFE, ScanStatus.NOT_SCANNED)
