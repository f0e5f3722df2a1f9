"""Applicant forms: claim an establishment by FINESS, enter an unknown establishment by hand, refuse a claim."""

import re

from django import forms
from django.urls import reverse
from dsfr.forms import DsfrBaseForm

from .identifiers import FinessField, SiretField, normalize
from .models import FUNCTION_MAX, MESSAGE_MAX, REASON_MAX, LegalStatus, Region, Sector

_DEPARTMENT_RE = re.compile(r"^(0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-6])$")


def _claim_fields():
    """What the claimant tells whoever decides: their function and a short message (both optional)."""
    return {
        "function": forms.CharField(
            label="Votre fonction dans l'établissement (facultatif)", max_length=FUNCTION_MAX, required=False,
            help_text="Par exemple : directrice des ressources humaines, chargé de mission QVT."),
        "message": forms.CharField(
            label="Message à la personne qui décidera (facultatif)", max_length=MESSAGE_MAX, required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=f"{MESSAGE_MAX} caractères au plus. Il sera lu par un référent de l'établissement ou, "
                      "si personne ne le gère encore, par l'ARS de la région."),
    }


class AttachForm(DsfrBaseForm):
    """Claim an establishment by its FINESS géographique (autocompletion via htmx): the claim is a request
    that a referent or the ARS decides (``guichet.establishments.claims``)."""

    finess = FinessField(
        label="Numéro FINESS géographique de l'établissement",
        help_text="9 caractères, par exemple 140000027. Pendant la saisie, les établissements de l'annuaire "
                  "correspondant au numéro ou au nom saisi sont proposés.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(_claim_fields())
        self.fields["finess"].widget.attrs.update({
            "hx-get": reverse("establishments:search"),
            "hx-trigger": "input changed delay:300ms, search",
            "hx-target": "#finess-suggestions",
            "hx-sync": "this:replace",
            "aria-controls": "finess-suggestions",
            "autocomplete": "off",
            "inputmode": "text",
        })


def validate_department(value: str) -> str:
    department = normalize(value)
    if len(department) == 1 and department.isdigit():
        department = "0" + department
    if not _DEPARTMENT_RE.match(department):
        raise forms.ValidationError(
            "Saisissez un code de département valide : 2 chiffres (ex. 14), 2A ou 2B pour la Corse, "
            "3 chiffres pour l'outre-mer (ex. 974).",
            code="invalid_department",
        )
    return department


class ManualEstablishmentForm(DsfrBaseForm):
    """An establishment with a valid FINESS that the directory does not know."""

    finess = FinessField(label="Numéro FINESS géographique")
    name = forms.CharField(label="Raison sociale de l'établissement", max_length=255)
    sector = forms.ChoiceField(label="Secteur", choices=[("", "Choisissez le secteur")] + Sector.choices)
    legal_status = forms.ChoiceField(
        label="Statut juridique", choices=[("", "Choisissez le statut juridique")] + LegalStatus.choices)
    department = forms.CharField(label="Département", max_length=3,
                                 help_text="Code du département, par exemple 14, 2A ou 974.")
    region = forms.ModelChoiceField(label="Région", queryset=Region.objects.all(),
                                    empty_label="Choisissez la région")
    siret = SiretField(label="SIRET (facultatif)", required=False, help_text="14 chiffres.")
    ej_finess = FinessField(
        label="FINESS juridique de l'entité gestionnaire (facultatif)", required=False,
        help_text="Le numéro FINESS de l'entité juridique (EJ) qui gère l'établissement.",
    )
    ej_name = forms.CharField(
        label="Raison sociale de l'entité juridique (facultatif)", max_length=255, required=False,
        help_text="Utile si l'entité juridique n'est pas encore connue ; à défaut, le nom de l'établissement "
                  "est repris.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(_claim_fields())
        for name, field in self.fields.items():
            if field.required:
                field.error_messages["required"] = {
                    "sector": "Choisissez le secteur.",
                    "legal_status": "Choisissez le statut juridique.",
                    "region": "Choisissez la région.",
                }.get(name, "Ce champ est obligatoire.")
        self.fields["region"].error_messages["invalid_choice"] = "Choisissez une région de la liste."

    def clean_department(self):
        return validate_department(self.cleaned_data["department"])

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Ce champ est obligatoire.", code="required")
        return name


class RefuseForm(DsfrBaseForm):
    """Refuse a claim: the reason is required, and sent to the requester."""

    reason = forms.CharField(
        label="Motif du refus", max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Communiqué au demandeur par courriel. {REASON_MAX} caractères au plus.",
        error_messages={"required": "Indiquez le motif du refus : il est communiqué au demandeur."})
