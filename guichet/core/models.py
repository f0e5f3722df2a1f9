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


GENESIS_HASH = "0" * 64


class AuditRecordQuerySet(models.QuerySet):
    """Audit records are never changed or removed through the ORM."""

    def update(self, **kwargs):
        if kwargs == {"actor": None}:  # a user is deleted (on_delete=SET_NULL): actor_ref and the e-mail stay
            return super().update(**kwargs)
        raise PermissionError("Le journal d'audit est en ajout seul : un enregistrement ne se modifie pas.")

    def delete(self):
        raise PermissionError("Le journal d'audit est en ajout seul : un enregistrement ne se supprime pas.")


class AuditRecord(models.Model):
    """One action on the platform, chained to the previous record by its hash (``guichet.core.audit``).

    What the hash covers is copied into plain columns (actor id and e-mail, dossier id and number,
    region): deleting a user or a dossier changes nothing that was hashed. ``actor`` is a
    convenience link only (set to NULL when the user is deleted); the verification checks that it
    is either NULL or the hashed ``actor_ref``.
    """

    seq = models.PositiveBigIntegerField("n°", unique=True)
    at = models.DateTimeField("le", db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="utilisateur", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_ref = models.BigIntegerField("id de l'utilisateur", null=True, blank=True)
    actor_email = models.CharField("adresse de l'utilisateur", max_length=254, blank=True)
    action = models.CharField("action", max_length=100, db_index=True)
    dossier_id = models.BigIntegerField("id du dossier", null=True, blank=True, db_index=True)
    dossier_number = models.CharField("n° de dossier", max_length=40, blank=True, db_index=True)
    region_id = models.BigIntegerField("id de la région", null=True, blank=True, db_index=True)
    object_type = models.CharField("type d'objet", max_length=100, blank=True)
    object_id = models.CharField("id de l'objet", max_length=64, blank=True)
    details = models.JSONField("détails", default=dict, blank=True)
    ip = models.CharField("adresse IP", max_length=45, blank=True)
    user_agent = models.CharField("navigateur", max_length=300, blank=True)
    prev_hash = models.CharField("empreinte précédente", max_length=64, unique=True)
    hash = models.CharField("empreinte", max_length=64, unique=True)
    # 1: plain SHA-256 (records written before the chain was keyed); 2: HMAC-SHA256 under the key ``key_id``.
    hash_version = models.PositiveSmallIntegerField("version de l'empreinte", default=1)
    key_id = models.CharField("clé de l'empreinte", max_length=20, blank=True)

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        verbose_name = "enregistrement d'audit"
        verbose_name_plural = "journal d'audit"
        ordering = ["-seq"]

    def __str__(self):
        return f"n° {self.seq} — {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding or self.pk is not None:
            raise PermissionError("Le journal d'audit est en ajout seul : un enregistrement ne se modifie pas.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Le journal d'audit est en ajout seul : un enregistrement ne se supprime pas.")
