"""The message form: plain text, one optional file with the form files' limits, an awaited document."""

from django import forms

from guichet.formschema.forms import SchemaFileField

from .models import AwaitedDocument

MAX_BODY = 20000


class MessageForm(forms.Form):
    body = forms.CharField(label="Votre message", required=False, max_length=MAX_BODY,
                           widget=forms.Textarea(attrs={"rows": 6}),
                           error_messages={"max_length": "Le message ne doit pas dépasser %(limit_value)d caractères."})
    attachment = SchemaFileField(label="Pièce jointe (facultative)", required=False,
                                 help_text="Taille maximale : 200 Mo. Formats acceptés : pdf, documents de "
                                           "bureautique, images, zip.")
    awaited = forms.ModelChoiceField(label="Ce fichier est la pièce attendue", required=False,
                                     queryset=AwaitedDocument.objects.none(),
                                     empty_label="— aucune : simple pièce jointe —",
                                     error_messages={"invalid_choice": "Cette pièce n'est plus attendue."})

    def __init__(self, *args, awaited_documents=None, upload_error=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.upload_error = upload_error
        if awaited_documents is None:
            del self.fields["awaited"]
        else:
            self.fields["awaited"].queryset = awaited_documents

    def clean(self):
        data = super().clean()
        if self.upload_error:
            self.add_error("attachment", self.upload_error)
        body = (data.get("body") or "").strip()
        attachment = data.get("attachment")
        if "attachment" in self.errors:
            return data
        if not body and not attachment:
            self.add_error("body", "Écrivez un message ou joignez un fichier.")
        if data.get("awaited") and not attachment:
            self.add_error("attachment", "Joignez le fichier de la pièce attendue.")
        return data
