"""Template helpers of the form engine."""

import html
import json

from django import forms, template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from guichet.formschema.values import format_for_display

register = template.Library()


@register.simple_tag
def display_value(field, value):
    return format_for_display(field, value) or "—"


@register.filter
def json_attr(value):
    """JSON for a single-quoted HTML attribute."""
    return escape(json.dumps(value))


@register.filter
def dictget(mapping, key):
    return (mapping or {}).get(key)


@register.simple_tag(takes_context=True)
def collapsed_row(context, block, row):
    """A filled row of a repeatable block as one summary line (see ``forms.Row``): its values as hidden
    inputs, a button that opens its fields (in place with htmx, else by saving and reloading the page with
    the row open) and the button that removes it. Built here rather than by a template: a part may hold
    dozens of rows, and the page must stay quick to render and light to send."""
    key, index, number = block.key, row.index, row.number
    row_label = block.opt("row_label")
    ident = f"bloc-{key}-{index}"
    parts = [f'<div class="guichet-repeat-row guichet-repeat-row--collapsed fr-fieldset__element" id="{ident}" '
             f'role="group" aria-labelledby="{ident}-title"><h4 class="fr-h6 fr-mb-1v" id="{ident}-title">'
             f"{_esc(row_label or block.label)} n° {number}</h4>"]
    described = [_esc(row.summary)] if row.summary else []
    described += [f'<span id="{cid}-label">{_esc(label)}</span> : <output class="guichet-computed" id="{cid}" '
                  f'aria-labelledby="{cid}-label" aria-live="polite">{_esc(shown)}</output>'
                  for cid, label, shown in row.computed]
    described += [f"{_esc(label)} : {_esc(name)}" for label, name in row.files]
    if described:
        parts.append(f'<p class="fr-text--sm fr-mb-1w guichet-repeat-row__summary">{" · ".join(described)}</p>')
    parts.extend(f'<input type="hidden" name="{name}" value="{_esc(value)}">' for name, value in row.hidden)
    if context.get("editable"):
        request = context.get("request")
        name = f"{_esc((row_label or 'la ligne').lower())} n° {number}"
        parts.append(
            '<button class="fr-btn fr-btn--secondary fr-btn--sm fr-icon-edit-line fr-btn--icon-left fr-mr-1w" '
            f'type="submit" name="_action" value="open:{key}:{index}" formnovalidate '
            f'hx-get="{_esc(request.path if request is not None else "")}?ouvrir={key}:{index}" '
            f'hx-target="#{ident}" hx-swap="outerHTML" hx-sync="this:drop">Modifier {name}</button>'
            '<button class="fr-btn fr-btn--tertiary fr-btn--sm fr-icon-delete-line fr-btn--icon-left" '
            f'type="submit" name="_action" value="remove:{key}:{index}" formnovalidate>Supprimer {name}</button>')
    parts.append("</div>")
    return mark_safe("".join(parts))  # every value above is escaped; keys are schema identifiers


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


@register.simple_tag
def field_input(bound):
    """The input of a bound field (text, number, date, e-mail, textarea, select), written directly: the markup
    Django's widget templates give, at a fraction of their cost (a part of 50 rows shows 400 inputs). Any
    other widget goes through Django's own rendering."""
    widget = bound.field.widget
    if not isinstance(widget, _DIRECT_WIDGETS) or getattr(widget, "allow_multiple_selected", False):
        return bound.as_widget()
    attrs = bound.build_widget_attrs(widget.attrs, widget)
    if "id" not in attrs and bound.auto_id:
        attrs["id"] = bound.auto_id
    flat = "".join(f" {k}" if v is True else f' {k}="{_esc(v)}"' for k, v in attrs.items()
                   if v is not False and v is not None)
    name, value = bound.html_name, bound.value()
    if isinstance(widget, forms.Select):
        selected = set(widget.format_value(value))
        return mark_safe(f'<select name="{_esc(name)}"{flat}>{_options(bound.field.choices, selected)}</select>')
    shown = widget.format_value(value)
    if isinstance(widget, forms.Textarea):
        return mark_safe(f'<textarea name="{_esc(name)}"{flat}>\n{_esc(shown) if shown else ""}</textarea>')
    shown = "" if shown is None else f' value="{_esc(shown)}"'
    return mark_safe(f'<input type="{widget.input_type}" name="{_esc(name)}"{shown}{flat}>')


_DIRECT_WIDGETS = (forms.TextInput, forms.EmailInput, forms.NumberInput, forms.DateInput, forms.Textarea,
                   forms.Select)


def _options(choices, selected: set, found=None) -> str:
    found = found if found is not None else []  # a single select marks its first match only, as Django does
    parts = []
    for value, label in choices:
        if isinstance(label, list | tuple):
            parts.append(f'<optgroup label="{_esc(value)}">{_options(label, selected, found)}</optgroup>')
            continue
        value = "" if value is None else str(value)
        mark = ""
        if value in selected and not found:
            found.append(value)
            mark = " selected"
        parts.append(f'<option value="{_esc(value)}"{mark}>{_esc(label)}</option>')
    return "".join(parts)
