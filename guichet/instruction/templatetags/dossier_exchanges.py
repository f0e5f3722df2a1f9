"""``{% dossier_exchanges dossier %}``: on the instructor's dossier page, the links to the dossier's
messagerie and expert opinions with their counts, and the documents the dossier awaits."""

from django import template

from guichet.experts.models import ExpertRequest
from guichet.messaging.models import AwaitedDocument, Message

register = template.Library()


@register.inclusion_tag("instruction/dossier_exchanges.html")
def dossier_exchanges(dossier):
    return {
        "dossier": dossier,
        "n_messages": Message.objects.visible().filter(dossier=dossier).count(),
        "n_opinions": ExpertRequest.objects.filter(dossier=dossier, revoked_at__isnull=True).count(),
        "awaited_documents": list(AwaitedDocument.objects.filter(dossier=dossier)),
    }
