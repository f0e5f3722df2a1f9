"""``|pluriel``: Django's ``pluralize`` with the French rule (0 and 1 in the singular: « 0 facture », « 1 facture »,
« 2 factures »); loaded in every template (settings ``TEMPLATES[…]["OPTIONS"]["builtins"]``).

``{{ n }} facture{{ n|pluriel }}``; ``{{ n }} {{ n|pluriel:"son,leur" }}``; the value may also be a list or a
queryset, counted by its length, as ``pluralize`` does. Python messages use ``guichet.core.text``.
"""

from django import template

from guichet.core.text import plural

register = template.Library()


@register.filter(is_safe=False)
def pluriel(value, arg="s"):
    if "," not in arg:
        arg = "," + arg
    bits = arg.split(",")
    if len(bits) > 2:
        return ""
    singular, plural_form = bits[:2]
    try:
        number = float(value)
    except ValueError:  # a text that is no number: nothing, as pluralize
        return ""
    except TypeError:
        try:
            number = len(value)
        except TypeError:
            return ""
    return plural(number, singular, plural_form)
