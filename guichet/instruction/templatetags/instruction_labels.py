"""The call's labels, each with whether it is on the dossier (for the instructor's page)."""

from django import template

from guichet.instruction.models import Label

register = template.Library()


@register.simple_tag
def dossier_labels(dossier):
    on = set(dossier.labels.values_list("pk", flat=True))
    return [(label, label.pk in on) for label in Label.objects.filter(call_id=dossier.call_id)]
