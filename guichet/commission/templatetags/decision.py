from django import template

from guichet.commission import documents

register = template.Library()


@register.inclusion_tag("commission/_decision_block.html")
def decision_documents(dossier):
    """A decided dossier's letters and convention, and its grant: on the applicant's and the ARS' pages."""
    grant = getattr(dossier, "grant", None) if dossier.decided_at else None
    return {"documents": documents.latest(dossier) if dossier.decided_at else {}, "grant": grant}
