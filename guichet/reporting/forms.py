"""The export template's form (name, format, ZIP contents); its columns are edited beside it
(``export_templates.read_choices``), without JavaScript."""

from django import forms
from dsfr.forms import DsfrBaseForm

from . import export_templates
from .models import ExportFormat, ExportTemplate


class TemplateForm(DsfrBaseForm):
    name = forms.CharField(label="Nom du modèle", max_length=150, error_messages={
        "required": "Donnez un nom au modèle.",
        "max_length": "Le nom compte %(show_value)d caractères : %(limit_value)d au plus."})
    format = forms.ChoiceField(label="Format du fichier", choices=ExportFormat.choices, widget=forms.RadioSelect,
                               error_messages={"required": "Choisissez le format du fichier.",
                                               "invalid_choice": "Choisissez un des formats proposés."})
    zip_include = forms.MultipleChoiceField(
        label="Fichiers du ZIP", required=False, choices=export_templates.ZIP_CONTENTS,
        widget=forms.CheckboxSelectMultiple, help_text="Pour le format ZIP seulement : un dossier par dossier, "
        "avec le tableur des colonnes choisies.",
        error_messages={"invalid_choice": "Choisissez parmi les fichiers proposés."})
    zip_file_fields = forms.MultipleChoiceField(
        label="Pièces jointes du formulaire à inclure", required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Ce champ n'est plus une pièce jointe du formulaire."})
    zip_name_pattern = forms.CharField(
        label="Nom des fichiers", required=False, max_length=200,
        help_text=f"Pour le format ZIP seulement. Variables : {export_templates.placeholders_text()} "
                  "(le nom du champ de la pièce jointe). Par exemple : « {numero} - {etablissement} - {champ} ».",
        error_messages={"max_length": "Le nom compte %(show_value)d caractères : %(limit_value)d au plus."})

    def __init__(self, *args, call, file_fields, instance=None, **kwargs):
        self.call, self.instance = call, instance
        super().__init__(*args, **kwargs)
        self.fields["zip_file_fields"].choices = [(e.field.key, export_templates.file_field_label(e))
                                                  for e in file_fields]
        if not file_fields:
            self.fields["zip_file_fields"].help_text = "Le formulaire de l'appel n'a pas de pièce jointe."

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Donnez un nom au modèle.")
        taken = ExportTemplate.objects.filter(call=self.call, name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("Un modèle de cet appel porte déjà ce nom : choisissez-en un autre.")
        return name

    def clean(self):
        data = super().clean()
        if data.get("format") != ExportFormat.ZIP:
            data["zip_include"], data["zip_file_fields"], data["zip_name_pattern"] = [], [], ""
            return data
        include = data.get("zip_include") or []
        if not include and "zip_include" not in self.errors:
            self.add_error("zip_include", "Cochez au moins un type de fichiers à mettre dans le ZIP.")
        if "attachments" in include and not data.get("zip_file_fields") and "zip_file_fields" not in self.errors:
            self.add_error("zip_file_fields", "Cochez les pièces jointes du formulaire à inclure.")
        if "attachments" not in include:
            data["zip_file_fields"] = []
        if "zip_name_pattern" not in self.errors:
            try:
                data["zip_name_pattern"] = export_templates.check_name_pattern(data.get("zip_name_pattern"))
            except forms.ValidationError as exc:
                self.add_error("zip_name_pattern", exc)
        return data
