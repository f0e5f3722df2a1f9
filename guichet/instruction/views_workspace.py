"""The instructor's workspace: the calls of the user's region, and per call the list of dossiers."""

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from guichet.calls.models import Call
from guichet.core.money import euros
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import LegalStatus, Sector
from guichet.formschema import qvct
from guichet.formschema.values import parse_decimal
from guichet.messaging import unread

from . import batch, workspace
from .models import DossierIndex, InstructorGroup, Label

PARIS = ZoneInfo("Europe/Paris")
STATE_BADGES = {
    State.EN_CONSTRUCTION: "fr-badge--info",
    State.EN_INSTRUCTION: "fr-badge--new",
    State.ACCEPTE: "fr-badge--success",
    State.REFUSE: "fr-badge--error",
    State.SANS_SUITE: "",
}
COLUMNS = [  # (sort name, header)
    ("numero", "Numéro"),
    ("etablissement", "Établissement"),  # its category and department under its name: the list fits 1 280 px
    ("etat", "État"),
    ("depot", "Déposé le"),
    ("montant", "Montant demandé"),
    (None, "Étiquettes"),
]


class FrenchAmountField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        try:
            return parse_decimal(value)
        except ValidationError:
            raise ValidationError("Saisissez un montant, par exemple 15 000 ou 15 000,50.") from None


class FiltersForm(forms.Form):
    q = forms.CharField(label="Rechercher", required=False, max_length=200,
                        help_text="Numéro, établissement, FINESS, commune ou texte des réponses")
    etat = forms.ChoiceField(label="État", required=False)
    secteur = forms.ChoiceField(label="Catégorie d'établissement", required=False,
                                choices=[("", "Toutes")] + list(Sector.choices))
    departement = forms.ChoiceField(label="Département", required=False)
    statut = forms.ChoiceField(label="Statut juridique", required=False,
                               choices=[("", "Tous")] + list(LegalStatus.choices))
    theme = forms.ChoiceField(label="Thème QVCT (boussole HAS)", required=False)
    montant_min = FrenchAmountField(label="Montant demandé minimum (€)", required=False)
    montant_max = FrenchAmountField(label="Montant demandé maximum (€)", required=False)
    etiquette = forms.TypedChoiceField(label="Étiquette", required=False, coerce=int, empty_value=None)
    groupe = forms.TypedChoiceField(label="Groupe instructeur", required=False, coerce=int, empty_value=None)
    attendus = forms.ChoiceField(label="Documents attendus", required=False, choices=[
        ("", "Tous"), ("oui", "Avec des documents encore attendus"), ("non", "Sans document attendu")])
    depose_du = forms.DateField(label="Déposé à partir du", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    depose_au = forms.DateField(label="Déposé jusqu'au (inclus)", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, departments=(), labels=(), groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["etat"].choices = [("", "Tous")] + [c for c in State.choices if c[0] != State.BROUILLON]
        self.fields["departement"].choices = [("", "Tous")] + [(d, d) for d in departments]
        self.fields["theme"].choices = [("", "Tous")] + qvct.grouped_choices()
        self.fields["etiquette"].choices = [("", "Toutes")] + [(label.pk, label.name) for label in labels]
        if groups:
            self.fields["groupe"].choices = ([("", "Tous")] + [(g.pk, g.name) for g in groups]
                                             + [(0, "Sans groupe")])
        else:
            del self.fields["groupe"]  # a call without groups shows no such filter
        for name, f in self.fields.items():
            css = "fr-select" if isinstance(f.widget, forms.Select) else "fr-input"
            f.widget.attrs.setdefault("class", css)
            if f.help_text:
                f.widget.attrs["aria-describedby"] = f"id_{name}_hint"

    def clean(self):
        data = super().clean()
        low, high = data.get("montant_min"), data.get("montant_max")
        if low is not None and high is not None and low > high:
            self.add_error("montant_max", "Le maximum doit être supérieur ou égal au minimum.")
        start, end = data.get("depose_du"), data.get("depose_au")
        if start and end and start > end:
            self.add_error("depose_au", "La date de fin doit suivre la date de début.")
        return data

    def filters(self) -> workspace.Filters:
        if not self.is_valid():
            return workspace.Filters()  # an invalid form filters nothing; its errors are shown
        d = self.cleaned_data

        def midnight(day):
            return dt.datetime.combine(day, dt.time.min, tzinfo=PARIS) if day else None

        return workspace.Filters(
            state=d["etat"], sector=d["secteur"], department=d["departement"], legal_status=d["statut"],
            theme=d["theme"], amount_min=d["montant_min"], amount_max=d["montant_max"], label=d["etiquette"],
            group=d.get("groupe"),
            filed_from=midnight(d["depose_du"]),
            filed_to=midnight(d["depose_au"] + dt.timedelta(days=1)) if d["depose_au"] else None,
            q=d["q"] or "",
            awaited={"oui": True, "non": False}.get(d["attendus"]),
        )


def _url(request, **changes) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    query = params.urlencode()
    return f"{request.path}?{query}" if query else request.path


@login_required
def calls(request):
    """The calls the user instructs, with their number of dossiers to handle and in total."""
    items = (Call.objects.instructed_by(request.user)
             .annotate(n_all=Count("dossier_indexes", filter=Q(dossier_indexes__archived=False)),
                       n_to_handle=Count("dossier_indexes", filter=Q(
                           dossier_indexes__archived=False, dossier_indexes__followed=False,
                           dossier_indexes__state__in=workspace.OPEN_STATES)))
             .select_related("region").order_by("-year", "title"))
    if not (request.user.is_superuser or request.user.is_ars_staff):
        raise Http404
    return render(request, "instruction/workspace_calls.html", {"calls": items, "nav": "instruction"})


# The querystring of a list (tab, sort, page, filters, search): carried to a dossier's page and back.
LIST_PARAMS = ("onglet", "tri", "curseur", *FiltersForm.base_fields)


def list_query(params) -> str:
    """The part of ``params`` (a QueryDict) that describes a list of the workspace, URL-encoded ("" if none)."""
    kept = params.copy()
    for key in list(kept):
        if key not in LIST_PARAMS:
            del kept[key]
    return kept.urlencode()


def list_state(params, call):
    """(tab, sort, filters form, filters) read from a workspace querystring, as the list shows them."""
    tab = params.get("onglet") or workspace.DEFAULT_TAB
    if tab not in dict(workspace.TABS):
        tab = workspace.DEFAULT_TAB
    sort_name, descending = workspace.parse_sort(params.get("tri") or workspace.DEFAULT_SORT)
    sort = f"-{sort_name}" if descending else sort_name
    labels = list(Label.objects.filter(call=call))
    groups = list(InstructorGroup.objects.filter(call=call))
    departments = list(DossierIndex.objects.filter(call=call).order_by("department")
                       .values_list("department", flat=True).distinct())
    form = FiltersForm(params or None, departments=[d for d in departments if d], labels=labels, groups=groups)
    filters = form.filters() if params else workspace.Filters()
    return tab, sort, form, filters, labels


@login_required
def call_workspace(request, slug):
    call = get_object_or_404(Call.objects.instructed_by(request.user).select_related("region"), slug=slug)
    user = request.user
    tab, sort, form, filters, labels = list_state(request.GET, call)
    sort_name, descending = workspace.parse_sort(sort)
    query = list_query(request.GET) or f"onglet={tab}"
    counts = workspace.tab_counts(call, user, filters)
    result = workspace.page(call, user, tab, filters, sort, request.GET.get("curseur", ""))
    labels_by_id = {label.pk: label for label in labels}
    page_ids = [row["pk"] for row in result.rows]
    followed = set(Dossier.followers.through.objects.filter(user_id=user.pk, dossier_id__in=page_ids)
                   .values_list("dossier_id", flat=True)) if page_ids else set()
    unread_counts = unread.unread_counts(user, page_ids)
    state_labels = dict(State.choices)
    rows = [{
        **row,
        "state_label": state_labels.get(row["state"], row["state"]),
        "badge": STATE_BADGES.get(row["state"], ""),
        "amount_display": euros(row["amount"]),
        "labels": [labels_by_id[i] for i in row["label_ids"] if i in labels_by_id],
        "url": reverse("instruction:dossier", args=[row["pk"]]) + "?" + query,
        "followed": row["pk"] in followed,
        "unread": unread_counts.get(row["pk"], 0),
    } for row in result.rows]
    columns = []
    for name, header in COLUMNS:
        column = {"header": header, "name": name}
        if name:
            current = name == sort_name
            column["aria_sort"] = ("descending" if descending else "ascending") if current else None
            next_sort = name if not current or descending else f"-{name}"
            column["url"] = _url(request, tri=next_sort, curseur=None)
            column["next_label"] = "décroissant" if next_sort.startswith("-") else "croissant"
        columns.append(column)
    tabs = [{"key": key, "label": label, "count": counts[key], "current": key == tab,
             "url": _url(request, onglet=key, curseur=None)} for key, label in workspace.TABS]
    return render(request, "instruction/workspace.html", {
        "call": call, "tabs": tabs, "tab_label": dict(workspace.TABS)[tab], "form": form, "rows": rows,
        "columns": columns, "count": counts[tab], "nav": "instruction",
        "next_url": _url(request, curseur=result.next_cursor) if result.next_cursor else None,
        "previous_url": _url(request, curseur=result.previous_cursor) if result.previous_cursor else None,
        "reset_url": f"{request.path}?onglet={tab}",
        "tab": tab, "sort": sort, "batch_choices": batch.choices(), "list_query": query,
    })


@require_POST
@login_required
def toggle_follow(request, slug, pk):
    """« Suivre / Ne plus suivre » a dossier from the list."""
    call = get_object_or_404(Call.objects.instructed_by(request.user), slug=slug)
    dossier = get_object_or_404(Dossier.objects.visible_to(request.user), pk=pk, call=call)
    if dossier.followers.filter(pk=request.user.pk).exists():
        dossier.followers.remove(request.user)
    else:
        dossier.followers.add(request.user)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        back = reverse("instruction:workspace", args=[call.slug])
    return redirect(back)
