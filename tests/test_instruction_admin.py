"""Labels are managed in the admin by the ARS of the call's region only; the index can be rebuilt."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from guichet.dossiers.models import Dossier
from guichet.instruction.models import DossierIndex, Label
from tests.factories import CallFactory, DossierFactory, InstructorFactory, region


@pytest.mark.django_db
def test_labels_of_another_region_are_out_of_reach(client):
    own = Label.objects.create(call=CallFactory(), name="Prioritaire")
    other = Label.objects.create(call=CallFactory(region=region("44")), name="Hors région")
    client.force_login(InstructorFactory())
    page = client.get(reverse("admin:instruction_label_changelist")).content.decode()
    assert "Prioritaire" in page and "Hors région" not in page
    assert client.get(reverse("admin:instruction_label_change", args=[other.pk])).status_code in (302, 403, 404)
    assert client.get(reverse("admin:instruction_label_change", args=[own.pk])).status_code == 200


@pytest.mark.django_db
def test_reindex_rebuilds_missing_index_rows():
    dossier = DossierFactory()
    Dossier.objects.filter(pk=dossier.pk).update(state="en_construction", number="2024-32-000001")
    assert not DossierIndex.objects.filter(pk=dossier.pk).exists()  # a queryset update sends no signal
    out = io.StringIO()
    call_command("reindex_dossiers", stdout=out)
    assert "1 dossier indexé." in out.getvalue()
    assert DossierIndex.objects.get(pk=dossier.pk).state == "en_construction"


@pytest.mark.django_db
def test_an_instructor_puts_labels_on_a_dossier(client):
    dossier = DossierFactory()
    dossier.state, dossier.number = "en_construction", f"2024-32-{dossier.pk:06d}"
    dossier.save()
    urgent = Label.objects.create(call=dossier.call, name="Prioritaire")
    elsewhere = Label.objects.create(call=CallFactory(), name="Autre appel")
    instructor = InstructorFactory()
    client.force_login(instructor)
    page = client.get(reverse("instruction:dossier", args=[dossier.pk])).content.decode()
    assert "Prioritaire" in page and "Autre appel" not in page
    client.post(reverse("instruction:set_labels", args=[dossier.pk]), {"etiquette": [urgent.pk, elsewhere.pk]})
    assert list(dossier.labels.all()) == [urgent]  # a label of another call is ignored
    assert DossierIndex.objects.get(pk=dossier.pk).label_ids == [urgent.pk]
    client.force_login(InstructorFactory(region=region("44")))
    assert client.post(reverse("instruction:set_labels", args=[dossier.pk]), {"etiquette": []}).status_code == 404
    assert list(dossier.labels.all()) == [urgent]


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["²", "99999999999999999999"])
def test_a_label_that_is_not_an_id_is_ignored_not_a_server_error(client, raw):
    dossier = DossierFactory()
    dossier.state, dossier.number = "en_construction", f"2024-32-{dossier.pk:06d}"
    dossier.save()
    client.force_login(InstructorFactory())
    response = client.post(reverse("instruction:set_labels", args=[dossier.pk]), {"etiquette": [raw]})
    assert response.status_code == 302 and not dossier.labels.exists()
