"""Private annotations: a second form per call, filled by the ARS only (same form engine).

Its schema is a ``FormVersion`` of kind « annotations » of the call; the answers live in
``Dossier.annotations``. Applicants never see them.
"""

from guichet.calls.models import FormKind, FormVersion
from guichet.formschema import engine


def annotations_version(call) -> FormVersion | None:
    """The call's latest annotations form; a caller checking many dossiers of one call may set it once on
    the call object as ``call.annotations_version``."""
    known = call.__dict__.get("annotations_version")
    if known is not None or "annotations_version" in call.__dict__:
        return known
    return FormVersion.objects.filter(call=call, kind=FormKind.ANNOTATIONS).order_by("-number").first()


def missing_annotations(dossier) -> list[engine.Missing]:
    """Mandatory annotations not filled yet (they block a decision)."""
    version = annotations_version(dossier.call)
    if version is None:
        return []
    return engine.missing_items(version.parsed(), dossier.annotations or {}, {})
