"""Forms of the instructor's dossier page and of batch operations."""

from django import forms

from guichet.dossiers import workflow
from guichet.formschema.forms import SchemaFileField

from . import batch


class TransitionForm(forms.Form):
    """One decision button; its message is mandatory when the event asks for one."""

    motivation = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 4}))
    file = SchemaFileField(required=False, allowed_types=["pdf", "doc", "docx", "odt", "xlsx", "ods", "zip"],
                           label="Document joint (facultatif)")

    def __init__(self, *args, transition: workflow.Transition, **kwargs):
        super().__init__(*args, **kwargs)
        self.transition = transition

    def clean_motivation(self):
        value = (self.cleaned_data.get("motivation") or "").strip()
        if self.transition.motivation_required and not value:
            raise forms.ValidationError(
                f"Saisissez {motivation_label(self.transition).lower()} pour « {self.transition.label} ».")
        return value


def takes_file(transition: workflow.Transition) -> bool:
    """Decisions and correction requests may come with a document (decision letter, list of what is missing)."""
    return transition.motivation_required or transition.target in workflow.DECIDED


def motivation_label(transition: workflow.Transition) -> str:
    return "Message au déposant" if transition.event == "demander_correction" else "Motivation"


class BatchForm(forms.Form):
    """The dossiers checked in a list (``dossier`` repeated), what to do with them, where to go back."""

    action = forms.ChoiceField(label="Action", choices=())
    motivation = forms.CharField(label="Motivation", required=False, max_length=10000,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = batch.choices()
        self.fields["action"].error_messages["invalid_choice"] = "Cette action n'est pas possible par lot."
        self.fields["action"].error_messages["required"] = "Choisissez une action."
