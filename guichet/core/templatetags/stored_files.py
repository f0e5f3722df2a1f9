"""Template tags for stored files: the attachment behind a file answer, and its antivirus badge."""

from django import template

from guichet.core.models import ScanStatus

register = template.Library()

# state → (DSFR badge level, text for everyone, text for the applicant who can replace the file)
BADGES = {
    ScanStatus.PENDING: ("info", "Analyse antivirus en cours", None),
    ScanStatus.SAFE: ("success", "Analysé, sans virus", None),
    ScanStatus.INFECTED: ("error", "Refusé : virus détecté", "Refusé : virus détecté — remplacez ce fichier"),
    ScanStatus.ERROR: ("warning", "Analyse impossible", None),
    ScanStatus.NOT_SCANNED: ("warning", "Non analysé (aucun antivirus configuré)", None),
}


@register.simple_tag
def dossier_attachment(dossier, value):
    """The ``Attachment`` a file answer (``{"attachment": id, ...}``) points to, or None.

    A page shows many file fields: the dossier's attachments are read once per dossier object. Without
    it (a form rendered outside a dossier) the state is unknown: the download view decides."""
    if not isinstance(value, dict) or not value.get("attachment") or not hasattr(dossier, "attachments"):
        return None
    cache = dossier.__dict__.get("_attachments_by_pk")
    if cache is None or value["attachment"] not in cache:
        cache = {a.pk: a for a in dossier.attachments.only(
            "pk", "dossier_id", "original_name", "size", "scan_status", "scan_detail", "scanned_at")}
        dossier.__dict__["_attachments_by_pk"] = cache
    return cache.get(value["attachment"])


@register.inclusion_tag("core/_scan_badge.html")
def scan_badge(item, applicant=False):
    """The DSFR badge that says where a stored file's antivirus scan stands."""
    level, label, applicant_label = BADGES.get(item.scan_status, ("warning", "Analyse impossible", None))
    return {"item": item, "level": level, "label": (applicant and applicant_label) or label}
