"""``{% message_count dossier %}``: the number of messages in a dossier's thread (for links to it)."""

from django import template

register = template.Library()


@register.simple_tag
def message_count(dossier) -> int:
    return dossier.messages.visible().count()
