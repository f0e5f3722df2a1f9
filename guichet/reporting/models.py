"""What the follow-up keeps: export templates (« modèles d'export »: a call's saved choice of columns, format
and ZIP contents, shared by the instructors of the call's region — what the fields hold and how they are checked:
``export_templates``) and exports built in the background (« Mes exports »): a workspace list or the region's
grants, too large to be sent while the browser waits, written by a task to private storage and kept a few days
for its author only.

A job keeps what to rebuild the export from (the workspace's querystring or the selected dossiers, never the
rows themselves), how far the task went (rows written out of the total, for the progress bar), and the file once
ready. ``purge_exports`` deletes the files past ``expires_at`` and marks the jobs expired.
"""

from django.conf import settings
from django.db import models


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV (tableur, une seule feuille)"
    XLSX = "xlsx", "XLSX (Excel)"
    ODS = "ods", "ODS (LibreOffice)"
    ZIP = "zip", "ZIP (tableur et fichiers des dossiers)"



class ExportKind(models.TextChoices):
    WORKSPACE = "workspace", "Liste des dossiers"
    GRANTS = "grants", "Subventions et paiements"


class ExportState(models.TextChoices):
    PENDING = "en_attente", "En attente"
    RUNNING = "en_cours", "En cours"
    READY = "pret", "Prêt"
    FAILED = "echoue", "Échoué"
    EXPIRED = "expire", "Expiré"


class ExportJob(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs",
                               verbose_name="demandé par")
    kind = models.CharField("export", max_length=20, choices=ExportKind.choices)
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             verbose_name="appel à projets")
    # The workspace's querystring (tab, filters, search, sort) as a dict of lists, or {"ids": [...]}.
    parameters = models.JSONField("paramètres", default=dict, blank=True)
    format = models.CharField("format", max_length=10, choices=ExportFormat.choices)
    state = models.CharField("état", max_length=20, choices=ExportState.choices, default=ExportState.PENDING,
                             db_index=True)
    done = models.PositiveIntegerField("lignes écrites", default=0)
    total = models.PositiveIntegerField("lignes à écrire", default=0)
    file = models.FileField(max_length=500, blank=True)
    original_name = models.CharField("nom du fichier", max_length=255, blank=True)
    content_type = models.CharField("type", max_length=255, blank=True)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)
    size = models.BigIntegerField("taille", null=True, blank=True)
    error = models.CharField("erreur", max_length=500, blank=True)
    created_at = models.DateTimeField("demandé le", auto_now_add=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    expires_at = models.DateTimeField("disponible jusqu'au", null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "export en arrière-plan"
        verbose_name_plural = "exports en arrière-plan"

    def __str__(self):
        return f"{self.get_kind_display()} ({self.get_format_display()}) — {self.get_state_display()}"

    @property
    def percent(self) -> int:
        if self.state == ExportState.READY:
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0

    @property
    def is_active(self) -> bool:
        """Still waiting or being written: its page refreshes itself."""
        return self.state in (ExportState.PENDING, ExportState.RUNNING)


class ExportTemplate(models.Model):
    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="export_templates")
    name = models.CharField("nom du modèle", max_length=150)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # [{"key": catalogue key, "header": the column's header}], in the file's order (``exports.Entry.key``).
    columns = models.JSONField("colonnes", default=list)
    format = models.CharField("format", max_length=10, choices=ExportFormat.choices, default=ExportFormat.XLSX)
    # ZIP only: the codes of ``export_templates.ZIP_CONTENTS``, the file fields' keys, the files' name pattern.
    zip_include = models.JSONField("contenu du ZIP", default=list, blank=True)
    zip_file_fields = models.JSONField("pièces jointes du formulaire", default=list, blank=True)
    zip_name_pattern = models.CharField("nom des fichiers", max_length=200, blank=True)

    class Meta:
        ordering = ["call", "name"]
        constraints = [models.UniqueConstraint(fields=["call", "name"], name="one_export_template_name_per_call")]
        verbose_name = "modèle d'export"
        verbose_name_plural = "modèles d'export"

    def __str__(self):
        return self.name


class StatisticsSnapshot(models.Model):
    """The figures of one statistics scope as last computed (``snapshots``): the pages, the bilan and the API read
    them instead of recomputing every figure on each request. ``stale``: data feeding the figures changed since
    ``computed_at``; ``refresh_pending``: a refresh task is queued (at most one per scope)."""

    key = models.CharField("périmètre", max_length=40, unique=True)  # "call:<pk>", "region:<pk>", "national"
    computed_at = models.DateTimeField("calculé le")
    payload = models.JSONField("chiffres")
    stale = models.BooleanField("à recalculer", default=False)
    refresh_pending = models.BooleanField("recalcul demandé", default=False)

    class Meta:
        verbose_name = "chiffres calculés"
        verbose_name_plural = "chiffres calculés"

    def __str__(self):
        return self.key
