"""Forms of expert opinions."""

from django import forms
from dsfr.forms import DsfrBaseForm

from guichet.formschema.forms import SchemaFileField

FILE_TYPES = ["pdf", "doc", "docx", "odt", "xls", "xlsx", "ods", "jpg", "jpeg", "png", "zip"]


class AskForm(DsfrBaseForm):
    email = forms.EmailField(label="Adresse électronique de l'expert",
                             error_messages={"required": "Indiquez l'adresse de l'expert.",
                                             "invalid": "Saisissez une adresse électronique valide."})
    question = forms.CharField(label="Question posée à l'expert", widget=forms.Textarea(attrs={"rows": 4}),
                               max_length=5000, error_messages={"required": "Écrivez la question posée."})
    confidential = forms.BooleanField(label="Avis confidentiel (visible seulement par l'ARS)", required=False)
    file = SchemaFileField(label="Pièce jointe (facultatif)", required=False, allowed_types=FILE_TYPES,
                           help_text="PDF, documents bureautiques, images ou ZIP ; 200 Mo au plus.")


class AnswerForm(DsfrBaseForm):
    answer = forms.CharField(label="Votre avis", widget=forms.Textarea(attrs={"rows": 8}), max_length=20000,
                             error_messages={"required": "Écrivez votre avis."})
    file = SchemaFileField(label="Pièce jointe (facultatif)", required=False, allowed_types=FILE_TYPES,
                           help_text="PDF, documents bureautiques, images ou ZIP ; 200 Mo au plus.")
