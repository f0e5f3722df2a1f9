from django import template

from guichet.core import money

register = template.Library()


@register.filter
def euros(value):
    """{{ amount|euros }} → « 12 345,67 € »."""
    return money.euros(value)


@register.filter
def euros_input(value):
    """{{ amount|euros_input }} → « 12 345,67 »: the value of a money input, grouped like the display."""
    return money.for_input(value)


@register.filter
def percent(value):
    return "" if value is None else money.percent(value)
