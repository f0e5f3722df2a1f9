"""Template context shared by every page.

``site_config`` replaces django-dsfr's processor of the same name, which made two queries for every
rendered template (the ``DsfrConfig`` of the language, then any), htmx fragments included: here the
configuration is read only when a template uses ``SITE_CONFIG`` (the full pages' header and footer), in one
query, the language's row first.
"""

from django.db.models import Case, IntegerField, Value, When
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language


def _site_config():
    from dsfr.models import DsfrConfig

    preferred = Case(When(language=get_language(), then=Value(0)), default=Value(1), output_field=IntegerField())
    return DsfrConfig.objects.order_by(preferred, "pk").first()


def site_config(request) -> dict:
    """``SITE_CONFIG``: the ``DsfrConfig`` of the current language, else the first one, else None — read
    when first used."""
    return {"SITE_CONFIG": SimpleLazyObject(_site_config)}
