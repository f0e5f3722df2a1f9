"""Private annotations: a second form per call, filled by the ARS only (same form engine).

Its schema is a ``FormVersion`` of kind « annotations » of the call; the answers live in
``Dossier.annotations``. Applicants never see them.
"""

from guichet.calls.models import FormKind, FormVersion
from guichet.formschema import engine


def annotations_version(call) -> FormVersion | None:
    return FormVersion.objects.filter(call=call, kind=FormKind.ANNOTATIONS).order_by("-number").first()


def missing_annotations(dossier) -> list[engine.Missing]:
    """Mandatory annotations not filled yet (they block a decision)."""
    version = annotations_version(dossier.call)
    if version is None:
        return []
    return engine.missing_items(version.parsed(), dossier.annotations or {}, {})
