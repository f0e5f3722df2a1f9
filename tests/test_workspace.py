"""The instructor's workspace: index, tabs and counts, filters, search, sort, keyset pagination, scoping."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guichet.dossiers import workflow
from guichet.dossiers.models import State
from guichet.establishments.models import Establishment
from guichet.instruction import workspace
from guichet.instruction.index import normalize, requested_amount
from guichet.instruction.models import DossierIndex, Label
from tests.factories import PARIS, CallFactory, DossierFactory, InstructorFactory, UserFactory, region

pytestmark = pytest.mark.django_db

SCHEMA = {"sections": [
    {"key": "projet", "title": "Projet", "fields": [
        {"key": "nom_projet", "type": "text", "label": "Nom du projet"},
        {"key": "description", "type": "textarea", "label": "Description"},
        {"key": "themes_qvct", "type": "qvct_theme", "label": "Thèmes"},
        {"key": "actions", "type": "repeat", "label": "Actions", "fields": [
            {"key": "intitule", "type": "text", "label": "Intitulé"},
            {"key": "theme_qvct", "type": "qvct_theme", "label": "Thème", "multiple": False},
            {"key": "montant_demande", "type": "amount", "label": "Montant"},
        ]},
        {"key": "total_montant_demande", "type": "computed", "label": "Total",
         "expression": "sum(actions.montant_demande)", "format": "amount"},
    ]},
]}


def make_establishment(finess, name, sector="sanitaire", department="57", legal_status="public", city="Metz",
                       category="Centre hospitalier"):
    return Establishment.objects.create(finess=finess, name=name, sector=sector, department=department,
                                        legal_status=legal_status, city=city, category=category,
                                        region=region("44"))


def file(dossier, when, state=State.EN_CONSTRUCTION):
    dossier.number = f"2025-44-{dossier.pk:06d}"
    dossier.state = state
    dossier.first_filed_at = dossier.last_filed_at = when
    dossier.save()
    return dossier


@pytest.fixture
def call():
    return CallFactory(region=region("44"), year=2025, slug="clact-ge-2025", schema=SCHEMA)


@pytest.fixture
def instructor():
    return InstructorFactory(region=region("44"))


def answers(name, amount, themes=(), action_theme="", text=""):
    return {"nom_projet": name, "description": text, "themes_qvct": list(themes),
            "actions": [{"intitule": "Action", "theme_qvct": action_theme, "montant_demande": str(amount)}],
            "total_montant_demande": f"{Decimal(amount):.2f}"}


@pytest.fixture
def world(call):
    """Five filed dossiers with distinct establishments, states, amounts and themes, plus a draft."""
    base = dt.datetime(2025, 3, 1, 10, tzinfo=PARIS)
    ests = [
        make_establishment("570000001", "Centre hospitalier de Sarreguemines", city="Sarreguemines"),
        make_establishment("570000002", "EHPAD Les Érables", sector="medico_social", department="67",
                           legal_status="prive", city="Strasbourg", category="EHPAD"),
        make_establishment("570000003", "Clinique Saint-André", department="54", legal_status="prive",
                           city="Nancy", category="Clinique"),
        make_establishment("570000004", "Foyer d'accueil médicalisé Hélène", sector="medico_social",
                           department="88", legal_status="espic", city="Épinal", category="FAM"),
        make_establishment("570000005", "Hôpital de Verdun", department="55", city="Verdun"),
    ]
    specs = [  # (amount, themes, action theme, text, state)
        (12000, ["sante_travail"], "sante_travail/organisation_temps", "Ergonomie des postes", State.EN_CONSTRUCTION),
        (45000, ["relations_climat"], "", "Dialogue social renforcé", State.EN_INSTRUCTION),
        (8000, ["egalite_chances/diversite"], "", "Crèche inter-entreprises", State.ACCEPTE),
        (150000, [], "contenu_travail/autonomie", "Équipes autonomes", State.REFUSE),
        (30000, ["sante_travail"], "", "Prévention des TMS", State.EN_CONSTRUCTION),
    ]
    dossiers = []
    for i, (est, (amount, themes, action_theme, text, state)) in enumerate(zip(ests, specs, strict=True)):
        d = DossierFactory(call=call, establishment=est,
                           answers=answers(f"Projet {i}", amount, themes, action_theme, text))
        dossiers.append(file(d, base + dt.timedelta(days=i), state))
    draft = DossierFactory(call=call, establishment=ests[0], answers=answers("Brouillon", 1))
    return {"dossiers": dossiers, "draft": draft, "ests": ests}


def numbers(rows):
    return [r["number"] for r in rows]


def ids(call, user, tab="tous", sort="depot", **filters):
    return [r["pk"] for r in workspace.page(call, user, tab, workspace.Filters(**filters), sort).rows]


# --- the index -------------------------------------------------------------------------------------

def test_index_rows_of_filed_dossiers_only(world):
    d0 = world["dossiers"][0]
    assert DossierIndex.objects.count() == 5
    assert not DossierIndex.objects.filter(pk=world["draft"].pk).exists()
    row = DossierIndex.objects.get(pk=d0.pk)
    assert row.amount == Decimal("12000.00")
    assert row.themes == "|sante_travail|sante_travail/organisation_temps|"
    assert row.sector == "sanitaire" and row.department == "57" and row.finess == "570000001"
    assert "ergonomie des postes" in row.search_text and "centre hospitalier de sarreguemines" in row.search_text


def test_amount_rule():
    assert requested_amount({"total_montant_demande": "1200.5", "montant_demande_autre": "3"}) == Decimal("1200.50")
    assert requested_amount({"montant_demande_clact": "99"}) == Decimal("99.00")
    assert requested_amount({"montant_demande": "pas un nombre"}) == Decimal("0.00")
    assert requested_amount({"cout": "5"}) == Decimal("0.00")
    assert normalize("  Hélène  ÉCOLE ") == "helene ecole"


def test_index_follows_workflow_answers_and_labels(world, call, instructor):
    d = world["dossiers"][0]
    workflow.apply(d, "passer_en_instruction", instructor)
    assert DossierIndex.objects.get(pk=d.pk).state == State.EN_INSTRUCTION
    d.refresh_from_db()
    d.answers = {**d.answers, "description": "Salle de repos", "total_montant_demande": "777.00"}
    d.save(update_fields=["answers", "updated_at"])
    row = DossierIndex.objects.get(pk=d.pk)
    assert row.amount == Decimal("777.00") and "salle de repos" in row.search_text
    label = Label.objects.create(call=call, name="Prioritaire")
    label.dossiers.add(d)
    assert DossierIndex.objects.get(pk=d.pk).label_ids == [label.pk]
    assert ids(call, instructor, label=label.pk) == [d.pk]
    d.labels.remove(label)
    assert DossierIndex.objects.get(pk=d.pk).label_ids == []
    d.followers.add(instructor)
    assert DossierIndex.objects.get(pk=d.pk).followed is True
    instructor.followed_dossiers.remove(d)
    assert DossierIndex.objects.get(pk=d.pk).followed is False


# --- tabs and counts -------------------------------------------------------------------------------

def test_tabs_and_counts_in_one_query(world, call, instructor):
    d = world["dossiers"]
    d[1].followers.add(instructor)
    other = InstructorFactory(region=region("44"))
    d[4].followers.add(other)
    workflow.apply(d[2], "archiver", instructor)
    with CaptureQueriesContext(connection) as ctx:
        counts = workspace.tab_counts(call, instructor)
    assert len(ctx.captured_queries) == 1
    assert counts == {"a_traiter": 1, "suivis": 1, "traites": 1, "tous": 4, "archives": 1}
    assert ids(call, instructor, "a_traiter") == [d[0].pk]
    assert ids(call, instructor, "suivis") == [d[1].pk]
    assert ids(call, other, "suivis") == [d[4].pk]
    assert ids(call, instructor, "traites") == [d[3].pk]
    assert ids(call, instructor, "tous") == [d[0].pk, d[1].pk, d[3].pk, d[4].pk]
    assert ids(call, instructor, "archives") == [d[2].pk]


# --- filters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("filters, expected", [
    ({"state": "en_construction"}, [0, 4]),
    ({"sector": "medico_social"}, [1, 3]),
    ({"department": "54"}, [2]),
    ({"legal_status": "prive"}, [1, 2]),
    ({"theme": "sante_travail"}, [0, 4]),
    ({"theme": "sante_travail/organisation_temps"}, [0]),
    ({"theme": "egalite_chances"}, [2]),
    ({"theme": "contenu_travail"}, [3]),
    ({"amount_min": Decimal("12000")}, [0, 1, 3, 4]),
    ({"amount_max": Decimal("30000")}, [0, 2, 4]),
    ({"amount_min": Decimal("10000"), "amount_max": Decimal("45000")}, [0, 1, 4]),
    ({"filed_from": dt.datetime(2025, 3, 2, tzinfo=PARIS), "filed_to": dt.datetime(2025, 3, 4, tzinfo=PARIS)},
     [1, 2]),
    ({"q": "2025-44-"}, [0, 1, 2, 3, 4]),
    ({"q": "erables"}, [1]),
    ({"q": "Érables"}, [1]),
    ({"q": "EHPAD les"}, [1]),
    ({"q": "helene"}, [3]),
    ({"q": "570000003"}, [2]),
    ({"q": "dialogue SOCIAL"}, [1]),
    ({"q": "epinal"}, [3]),
    ({"q": "introuvable"}, []),
])
def test_filters_and_search(world, call, instructor, filters, expected):
    d = world["dossiers"]
    assert ids(call, instructor, "tous", **filters) == [d[i].pk for i in expected]


def test_search_by_number(world, call, instructor):
    d = world["dossiers"][3]
    assert ids(call, instructor, q=d.number) == [d.pk]


# --- sort ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sort, order", [
    ("montant", [2, 0, 4, 1, 3]),
    ("-montant", [3, 1, 4, 0, 2]),
    ("etablissement", [0, 2, 1, 3, 4]),
    ("-etablissement", [4, 3, 1, 2, 0]),
    ("depot", [0, 1, 2, 3, 4]),
    ("-depot", [4, 3, 2, 1, 0]),
    ("numero", [0, 1, 2, 3, 4]),
    ("-numero", [4, 3, 2, 1, 0]),
    ("etat", [2, 0, 4, 1, 3]),  # accepte, en_construction ×2, en_instruction, refuse
])
def test_sort(world, call, instructor, sort, order):
    d = world["dossiers"]
    assert ids(call, instructor, sort=sort) == [d[i].pk for i in order]


# --- keyset pagination -----------------------------------------------------------------------------

@pytest.fixture
def many(call):
    est = make_establishment("570000099", "Centre hospitalier de Metz")
    base = dt.datetime(2025, 3, 1, 10, tzinfo=PARIS)
    made = []
    for i in range(45):
        d = DossierFactory(call=call, establishment=est, answers=answers(f"P{i}", 1000 + (i % 7) * 100))
        made.append(file(d, base + dt.timedelta(hours=i % 5)))  # ties on the date and on the amount
    return made


@pytest.mark.parametrize("sort", ["depot", "-depot", "montant", "-montant", "etablissement", "numero", "-etat"])
def test_keyset_every_dossier_once_both_ways(many, call, instructor, sort):
    seen, cursor, pages = [], "", []
    while True:
        p = workspace.page(call, instructor, "tous", None, sort, cursor, size=4)
        pages.append((cursor, [r["pk"] for r in p.rows]))
        seen += [r["pk"] for r in p.rows]
        if not p.next_cursor:
            break
        cursor = p.next_cursor
    assert sorted(seen) == sorted(d.pk for d in many) and len(seen) == len(set(seen))
    assert seen == [r.pk for r in workspace.queryset(call, instructor, "tous", None, sort)]
    # Walking back with « page précédente » gives the same pages.
    p = workspace.page(call, instructor, "tous", None, sort, cursor, size=4)
    back = []
    while p.previous_cursor:
        p = workspace.page(call, instructor, "tous", None, sort, p.previous_cursor, size=4)
        back.append([r["pk"] for r in p.rows])
    assert back == [rows for _, rows in reversed(pages[:-1])]


def test_query_count_same_on_page_1_and_page_20(many, call, instructor, client):
    client.force_login(instructor)
    url = reverse("instruction:workspace", args=[call.slug])
    label = Label.objects.create(call=call, name="Urgent")
    label.dossiers.add(*many[:10])
    many[3].followers.add(instructor)
    # Page size 50 would give one page: walk pages of 2 through the function, then measure the view.
    cursor = ""
    for _ in range(19):
        cursor = workspace.page(call, instructor, "tous", None, "depot", cursor, size=2).next_cursor
    assert cursor
    with CaptureQueriesContext(connection) as first:
        assert client.get(url, {"onglet": "tous"}).status_code == 200
    with CaptureQueriesContext(connection) as deep:
        response = client.get(url, {"onglet": "tous", "tri": "depot", "curseur": cursor})
    assert response.status_code == 200
    assert len(first.captured_queries) == len(deep.captured_queries)
    assert not any("OFFSET" in q["sql"].upper() for q in deep.captured_queries)


def test_bad_cursor_is_page_one(world, call, instructor):
    for cursor in ("n'importe quoi", "xx!", "WyJkZXBvdCIsIm4iLDEsMV0"):
        assert [r["pk"] for r in workspace.page(call, instructor, "tous", None, "depot", cursor).rows] == \
            ids(call, instructor)
    other_sort = workspace.page(call, instructor, "tous", None, "montant", size=2).next_cursor
    assert [r["pk"] for r in workspace.page(call, instructor, "tous", None, "depot", other_sort).rows] == \
        ids(call, instructor)


# --- the pages -------------------------------------------------------------------------------------

def test_workspace_page(world, call, instructor, client):
    label = Label.objects.create(call=call, name="Prioritaire", colour="green-emeraude")
    label.dossiers.add(world["dossiers"][1])
    client.force_login(instructor)
    response = client.get(reverse("instruction:calls"))
    assert response.status_code == 200 and call.title in response.content.decode()
    url = reverse("instruction:workspace", args=[call.slug])
    html = client.get(url, {"onglet": "tous", "tri": "-montant"}).content.decode()
    assert "Tous&nbsp;(4)" in html or "Tous&nbsp;(5)" in html
    assert 'aria-sort="descending"' in html
    assert "150\u202f000,00\u00a0€" in html
    assert "Prioritaire" in html and "fr-tag--green-emeraude" in html
    assert reverse("instruction:dossier", args=[world["dossiers"][3].pk]) in html
    assert '<label class="fr-label" for="id_q">' in html
    html = client.get(url, {"onglet": "tous", "q": "érables", "secteur": "medico_social",
                            "montant_min": "10 000", "montant_max": "50 000,00"}).content.decode()
    assert world["dossiers"][1].number in html and world["dossiers"][0].number not in html
    html = client.get(url, {"montant_min": "abc"}).content.decode()
    assert "Saisissez un montant" in html


def test_follow_toggle(world, call, instructor, client):
    client.force_login(instructor)
    d = world["dossiers"][0]
    url = reverse("instruction:toggle_follow", args=[call.slug, d.pk])
    assert client.post(url, {"next": "https://ailleurs.example/"}).status_code == 302
    assert d.followers.filter(pk=instructor.pk).exists()
    assert DossierIndex.objects.get(pk=d.pk).followed
    client.post(url)
    assert not d.followers.exists()


def test_region_scoping(world, call, client):
    url = reverse("instruction:workspace", args=[call.slug])
    client.force_login(InstructorFactory(region=region("32")))
    assert client.get(url).status_code == 404
    assert call.title not in client.get(reverse("instruction:calls")).content.decode()
    assert client.post(reverse("instruction:toggle_follow", args=[call.slug, world["dossiers"][0].pk])
                       ).status_code == 404
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    assert client.get(reverse("instruction:calls")).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_superuser_sees_every_call(world, call, client):
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get(reverse("instruction:workspace", args=[call.slug])).status_code == 200


def test_dates_are_stored_in_utc(world):
    row = DossierIndex.objects.get(pk=world["dossiers"][0].pk)
    assert timezone.localtime(row.filed_at, PARIS).date() == dt.date(2025, 3, 1)


# --- from the list to a dossier and on to the next -------------------------------------------------------

def links_in(html, path_start):
    import re
    from html import unescape

    return [unescape(h) for h in re.findall(r'href="(' + re.escape(path_start) + r'[^"]*)"', html)]


def test_the_dossier_page_leads_back_to_the_filtered_list_and_to_its_neighbours(world, call, instructor, client):
    client.force_login(instructor)
    query = {"onglet": "tous", "tri": "-montant", "secteur": "sanitaire"}
    listing = client.get(reverse("instruction:workspace", args=[call.slug]), query).content.decode()
    order = ids(call, instructor, "tous", "-montant", sector="sanitaire")
    assert len(order) == 3
    encoded = "onglet=tous&tri=-montant&secteur=sanitaire"
    for pk in order:
        assert reverse("instruction:dossier", args=[pk]) + "?" + encoded in links_in(listing, "/instruction/dossiers/")
    back = reverse("instruction:workspace", args=[call.slug]) + "?" + encoded
    pages = {pk: client.get(reverse("instruction:dossier", args=[pk]) + "?" + encoded).content.decode()
             for pk in order}
    for position, pk in enumerate(order):
        page = pages[pk]
        assert back in links_in(page, "/instruction/appels/") and "Retour à la liste" in page
        previous = order[position - 1] if position else None
        following = order[position + 1] if position + 1 < len(order) else None
        for pk_near, name in ((previous, "Dossier précédent"), (following, "Dossier suivant")):
            if pk_near:
                assert reverse("instruction:dossier", args=[pk_near]) + "?" + encoded in links_in(
                    page, "/instruction/dossiers/"), name
                assert name in page
            else:
                assert f'aria-disabled="true" role="link">{name}' in page


def test_neighbours_walk_the_list_in_its_order_with_ties_both_ways(many, call, instructor):
    for sort in ("depot", "-montant", "etablissement"):
        order = [r.pk for r in workspace.queryset(call, instructor, "tous", None, sort)]
        walked, pk = [order[0]], order[0]
        while True:
            previous, following = workspace.neighbours(call, instructor, pk, "tous", None, sort)
            assert previous == (walked[-2] if len(walked) > 1 else None)
            if following is None:
                break
            walked.append(following)
            pk = following
        assert walked == order


def test_a_dossier_page_from_the_list_costs_the_same_queries_first_or_deep(many, call, instructor, client):
    client.force_login(instructor)
    order = [r.pk for r in workspace.queryset(call, instructor, "tous", None, "-montant")]
    query = "?onglet=tous&tri=-montant&q=metz"
    counts = []
    for pk in (order[0], order[30]):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("instruction:dossier", args=[pk]) + query).status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
