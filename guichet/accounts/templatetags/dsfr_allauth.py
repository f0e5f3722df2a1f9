"""Render django-allauth form fields with the markup of the French State design system (DSFR).

allauth renders its forms through "elements" templates (``templates/allauth/elements/``); the
``fields`` element calls :func:`dsfr_field` for each visible field. The tag chooses the DSFR
component (input, password, checkbox, select, textarea), and links the hint and the error
messages to the control with ``aria-describedby`` (RGAA 11.10, 11.11).
"""

from django import forms, template
from django.template.loader import render_to_string

register = template.Library()


def field_kind(field) -> str:
    """The DSFR component for a bound field: checkbox, radio, select, textarea, password or input."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "radio"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(widget, forms.PasswordInput):
        return "password"
    return "input"


CONTROL_CLASS = {
    "select": "fr-select",
    "textarea": "fr-input",
    "password": "fr-input fr-password__input",
    "input": "fr-input",
}


@register.simple_tag
def dsfr_field(field):
    """Return the HTML of one bound field as a DSFR input group."""
    kind = field_kind(field)
    base_id = field.auto_id or f"id_{field.html_name}"
    hint_id = f"{base_id}-hint" if field.help_text else ""
    error_id = f"{base_id}-messages"
    described_by = " ".join(i for i in (hint_id, error_id if field.errors else "") if i)
    # DSFR: the visible label and hint carry the information, never a placeholder.
    attrs = {"placeholder": False}
    existing = field.field.widget.attrs.get("class", "")
    control_class = CONTROL_CLASS.get(kind, "")
    if control_class:
        attrs["class"] = f"{existing} {control_class}".strip()
    if described_by:
        attrs["aria-describedby"] = described_by
    if field.errors:
        attrs["aria-invalid"] = "true"
    if kind == "radio":
        # Each option is rendered by the template; the widget itself is not used.
        widget_html = ""
    else:
        widget_html = field.as_widget(attrs=attrs)
    return render_to_string(
        "allauth/elements/dsfr_field.html",
        {
            "field": field,
            "kind": kind,
            "widget_html": widget_html,
            "base_id": base_id,
            "hint_id": hint_id,
            "error_id": error_id,
            "required": field.field.required,
        },
    )
