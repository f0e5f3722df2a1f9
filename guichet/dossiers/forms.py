"""Small forms of the dossier pages (the answers themselves use the form engine)."""

from django import forms
from dsfr.forms import DsfrBaseForm


class StartForm(DsfrBaseForm):
    establishment = forms.ModelChoiceField(
        label="Établissement porteur", queryset=None, empty_label="Sélectionner un établissement",
        error_messages={"required": "Choisissez l'établissement qui dépose le dossier.",
                        "invalid_choice": "Choisissez un de vos établissements."},
        help_text="L'établissement qui dépose le dossier et reçoit le financement.")
    partners = forms.ModelMultipleChoiceField(
        label="Établissements parties prenantes (facultatif)", queryset=None, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Pour un dossier mutualisé entre plusieurs établissements.")

    def __init__(self, *args, establishments, call, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = establishments
        self.fields["partners"].queryset = establishments
        if establishments.count() < 2:
            del self.fields["partners"]


class PartnersForm(DsfrBaseForm):
    partners = forms.ModelMultipleChoiceField(label="Établissements parties prenantes", queryset=None,
                                              required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, dossier, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partners"].queryset = user.establishments.exclude(pk=dossier.establishment_id)
        self.fields["partners"].initial = list(dossier.partners.values_list("pk", flat=True))


class InvitationForm(DsfrBaseForm):
    email = forms.EmailField(label="Adresse électronique de la personne à inviter",
                             error_messages={"invalid": "Saisissez une adresse électronique valide, "
                                                        "par exemple nom@etablissement.fr."})
