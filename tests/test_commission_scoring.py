"""The scoring grid: weighted marks out of 20 in Decimal, spread between scorers, ranking; only the
region's ARS scores; mistakes are shown at the field."""

from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from guichet.commission import scoring
from guichet.commission.models import Criterion
from guichet.dossiers.models import Dossier
from tests.factories import CallFactory, DossierFactory, InstructorFactory, region


def filed(call) -> Dossier:
    d = DossierFactory(call=call)
    Dossier.objects.filter(pk=d.pk).update(state="en_instruction", number=f"2024-32-{d.pk:06d}")
    return Dossier.objects.get(pk=d.pk)


@pytest.fixture
def grid(db):
    call = CallFactory()
    return call, [Criterion.objects.create(call=call, label="Qualité du diagnostic", weight=Decimal("2"),
                                           scale_max=5, order=1),
                  Criterion.objects.create(call=call, label="Dialogue social", weight=Decimal("1"), scale_max=10,
                                           order=2)]


def test_weighted_mark_out_of_twenty(grid):
    _, (diagnostic, dialogue) = grid
    # (2 × 4/5 + 1 × 5/10) / 3 × 20 = (1.6 + 0.5) / 3 × 20 = 14
    assert scoring.scorer_mark({diagnostic.pk: 4, dialogue.pk: 5}, [diagnostic, dialogue]) == Decimal("14.00")
    assert scoring.scorer_mark({}, [diagnostic, dialogue]) is None


@settings(max_examples=200, deadline=None)
@given(weights=st.lists(st.decimals(min_value="0.01", max_value="10", places=2), min_size=1, max_size=6),
       data=st.data())
def test_a_mark_stays_between_0_and_20_and_is_exact_to_the_hundredth(weights, data):
    criteria = [Criterion(pk=i + 1, label=f"c{i}", weight=w, scale_max=data.draw(st.integers(1, 20)))
                for i, w in enumerate(weights)]
    values = {c.pk: data.draw(st.integers(0, c.scale_max)) for c in criteria}
    mark = scoring.scorer_mark(values, criteria)
    assert Decimal(0) <= mark <= Decimal(20) and mark == mark.quantize(Decimal("0.01"))
    if all(v == c.scale_max for c, v in zip(criteria, values.values(), strict=True)):
        assert mark == Decimal("20.00")


def test_spread_and_ranking_across_scorers(grid):
    call, (diagnostic, dialogue) = grid
    first, second, unscored = filed(call), filed(call), filed(call)
    alice, bob = InstructorFactory(), InstructorFactory()
    scoring.record(first, alice, {diagnostic.pk: 5, dialogue.pk: 10})  # 20
    scoring.record(first, bob, {diagnostic.pk: 3, dialogue.pk: 4})  # (1.2 + 0.4)/3×20 = 10.67
    scoring.record(second, alice, {diagnostic.pk: 4, dialogue.pk: 8})  # (1.6 + 0.8)/3×20 = 16
    ranked = scoring.ranking(call)
    assert [(s.dossier_id, s.rank, s.mean) for s in ranked] == [
        (second.pk, 1, Decimal("16.00")), (first.pk, 2, Decimal("15.34")), (unscored.pk, None, None)]
    assert ranked[1].spread == Decimal("9.33")


def test_the_grid_page_saves_and_explains_mistakes(client, grid):
    call, (diagnostic, dialogue) = grid
    dossier = filed(call)
    instructor = InstructorFactory()
    client.force_login(instructor)
    url = reverse("commission:grid", args=[dossier.pk])
    response = client.post(url, {f"note-{diagnostic.pk}": "7", f"note-{dialogue.pk}": "6"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Saisissez un nombre entier de 0 à 5." in page and 'value="7"' in page
    assert not dossier.scores.exists()
    client.post(url, {f"note-{diagnostic.pk}": "4", f"note-{dialogue.pk}": "6",
                      f"commentaire-{dialogue.pk}": "CSE consulté"})
    assert dossier.scores.count() == 2
    assert "Note moyenne : <strong>14,67 / 20</strong>" in client.get(url).content.decode()
    ranking = client.get(reverse("commission:ranking", args=[call.slug])).content.decode()
    assert dossier.number in ranking and "14,67" in ranking


@pytest.mark.parametrize("who", ["applicant", "other_region"])
def test_only_the_regions_ars_scores(client, grid, who):
    call, (diagnostic, _) = grid
    dossier = filed(call)
    user = dossier.created_by if who == "applicant" else InstructorFactory(region=region("44"))
    client.force_login(user)
    assert client.post(reverse("commission:grid", args=[dossier.pk]),
                       {f"note-{diagnostic.pk}": "3"}).status_code == 404
    assert client.get(reverse("commission:ranking", args=[call.slug])).status_code == 404
    assert not dossier.scores.exists()
