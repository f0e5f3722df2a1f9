"""« Mes préférences de notification »: per call of the instructor's region, which e-mails they receive."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render

from guichet.calls.models import Call
from guichet.core import audit

from .models import NewDossierNotice, NotificationPreference


class PreferenceForm(forms.ModelForm):
    on_new_dossier = forms.ChoiceField(label="Nouveaux dossiers déposés", choices=NewDossierNotice.choices,
                                       widget=forms.RadioSelect)
    on_message = forms.BooleanField(label="Me prévenir des messages des déposants", required=False)
    on_corrections = forms.BooleanField(label="Me prévenir quand un déposant dépose les corrections demandées",
                                        required=False)

    class Meta:
        model = NotificationPreference
        fields = ["on_new_dossier", "on_message", "on_corrections"]


def _forms(user, calls, data=None):
    stored = {p.call_id: p for p in NotificationPreference.objects.filter(user=user, call__in=calls)}
    return [(call, PreferenceForm(data, instance=stored.get(call.pk) or NotificationPreference(user=user, call=call),
                                  prefix=f"appel-{call.pk}")) for call in calls]


@login_required
def preferences(request):
    user = request.user
    if not user.is_ars_staff:
        raise Http404
    calls = list(Call.objects.instructed_by(user).select_related("region").order_by("-year", "title"))
    if request.method == "POST":
        items = _forms(user, calls, request.POST)
        if all(form.is_valid() for _, form in items):
            with transaction.atomic():
                changed = [call.slug for call, form in items if form.has_changed() or form.instance.pk is None]
                for _, form in items:
                    form.save()
                if changed:
                    audit.record(user, "notification_preferences", request=request, calls=changed)
            messages.success(request, "Vos préférences de notification ont été enregistrées.")
            return redirect("instruction:preferences")
        status = 400
    else:
        items = _forms(user, calls)
        status = 200
    return render(request, "instruction/preferences.html", {
        "items": [{"call": call, "form": form} for call, form in items], "nav": "instruction",
        "page_title": "Mes préférences de notification",
    }, status=status)
