from django import template

from guichet.core import money

register = template.Library()


@register.filter
def euros(value):
    """{{ amount|euros }} → « 12 345,67 € »."""
    return money.euros(value)


@register.filter
def percent(value):
    return "" if value is None else money.percent(value)
