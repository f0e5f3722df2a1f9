"""Export templates (« modèles d'export »): a call's saved choice of columns, format and ZIP contents, shared by the
instructors of the call's region. What the fields hold and how they are checked: ``export_templates``."""

from django.conf import settings
from django.db import models


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV (tableur, une seule feuille)"
    XLSX = "xlsx", "XLSX (Excel)"
    ODS = "ods", "ODS (LibreOffice)"
    ZIP = "zip", "ZIP (tableur et fichiers des dossiers)"


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
