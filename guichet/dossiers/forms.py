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

    region = forms.ModelChoiceField(
        label="Région où est implanté l'établissement porteur", queryset=None, required=False,
        empty_label="Choisissez la région",
        error_messages={"invalid_choice": "Choisissez une région de la liste."},
        help_text="Demandée seulement quand l'annuaire ne connaît pas la région de l'établissement : seuls les "
                  "établissements implantés dans la région de l'appel à projets peuvent y déposer un dossier.")

    field_order = ["establishment", "region", "partners"]

    def __init__(self, *args, establishments, call, **kwargs):
        from guichet.establishments.models import Region

        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = establishments
        # Parties prenantes: the user's confirmed establishments implanted in the call's region (the others
        # would be refused anyway, see ``Call.refusal``).
        self.fields["partners"].queryset = establishments.filter(region_id=call.region_id)
        self.fields["region"].queryset = Region.objects.order_by("name")
        if self.fields["partners"].queryset.count() < 2:
            del self.fields["partners"]
        if not establishments.filter(region__isnull=True).exists():
            del self.fields["region"]

    def clean(self):
        from guichet.calls.models import REGION_UNKNOWN

        data = super().clean()
        establishment = data.get("establishment")
        if establishment is not None and establishment.region_id is None and not data.get("region"):
            self.add_error("region", REGION_UNKNOWN.format(name=establishment.name, finess=establishment.finess))
        return data


class PartnersForm(DsfrBaseForm):
    partners = forms.ModelMultipleChoiceField(label="Établissements parties prenantes", queryset=None,
                                              required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, dossier, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partners"].queryset = (user.establishments.filter(region_id=dossier.call.region_id)
                                            .exclude(pk=dossier.establishment_id))
        self.fields["partners"].initial = list(dossier.partners.values_list("pk", flat=True))


class DuplicateForm(DsfrBaseForm):
    call = forms.ModelChoiceField(
        label="Appel à projets du nouveau dossier", queryset=None, empty_label="Choisissez un appel à projets ouvert",
        error_messages={"required": "Choisissez l'appel à projets du nouveau dossier.",
                        "invalid_choice": "Choisissez un appel à projets ouvert de la liste."},
        help_text="Les réponses, les établissements et les pièces jointes sont repris là où le formulaire de cet "
                  "appel à projets a encore le champ ; la liste de ce qui n'a pas été repris s'affiche ensuite.")

    def __init__(self, *args, calls, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = calls
        self.fields["call"].label_from_instance = lambda c: f"{c.title} ({c.region.ars_name})"


class InvitationForm(DsfrBaseForm):
    email = forms.EmailField(label="Adresse électronique de la personne à inviter",
                             error_messages={"invalid": "Saisissez une adresse électronique valide, "
                                                        "par exemple nom@etablissement.fr."})
