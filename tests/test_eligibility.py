"""Who may file where, as the seeds say.

Seeds 000 and 001: the establishments concerned are those « implantés dans la région », whatever the
eligible kinds; an establishment whose region is unknown is asked for it. Seed 003: « Un dossier unique
CLACT sera fourni à l'ARS par établissement ou structure », and a dossier carried by a porteur counts for
each of its parties prenantes — checked at filing, when a partie prenante is added and at reopening;
drafts are free; two filings at once cannot both pass. Proofs calls are not concerned.
"""

import html
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from django.db.models import Q
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.calls.models import CallKind, EligibleKind
from guichet.dossiers import services, workflow
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import Establishment, EstablishmentAccess, LegalStatus, Region, Sector
from guichet.establishments.regions import REGIONS
from tests.factories import CallFactory, DossierFactory, EstablishmentFactory, InstructorFactory, UserFactory, region

SCHEMA = {"sections": [{"key": "s", "title": "Projet", "fields": [
    {"key": "nom_projet", "type": "text", "label": "Nom du projet", "required": True}]}]}

KIND_OF = {  # (sector, legal status) → the eligible kind it is
    (Sector.SANITAIRE, LegalStatus.PUBLIC): EligibleKind.SANITAIRE_PUBLIC,
    (Sector.SANITAIRE, LegalStatus.PRIVE): EligibleKind.SANITAIRE_PRIVE,
    (Sector.SANITAIRE, LegalStatus.ESPIC): EligibleKind.SANITAIRE_ESPIC,
    (Sector.MEDICO_SOCIAL, LegalStatus.PUBLIC): EligibleKind.MEDICO_SOCIAL,
}


def site(finess, region_code="32", **kwargs) -> Establishment:
    """An establishment of the Hauts-de-France (the seeds' region) unless told otherwise."""
    return EstablishmentFactory(finess=finess, name=kwargs.pop("name", f"ÉTABLISSEMENT {finess}"),
                                region=region(region_code) if region_code else None, department="59", **kwargs)


def text(response) -> str:
    return html.unescape(response.content.decode())


def applicant_of(*establishments):
    user = UserFactory()
    for establishment in establishments:
        EstablishmentAccess.objects.create(user=user, establishment=establishment)
    return user


@pytest.fixture
def call(db):
    return CallFactory(schema=SCHEMA)


def draft(call, user, establishment, partners=()) -> Dossier:
    dossier = services.start_dossier(call, establishment, user, partners=partners)
    Dossier.objects.filter(pk=dossier.pk).update(answers={"nom_projet": "Prévention des TMS"})
    return Dossier.objects.get(pk=dossier.pk)


# --- the region rule -----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(EligibleKind.values), unique=True),
       kind=st.sampled_from(sorted(KIND_OF)), call_region=st.sampled_from([r[0] for r in REGIONS]),
       site_region=st.one_of(st.none(), st.sampled_from([r[0] for r in REGIONS])))
def test_property_a_call_accepts_only_what_is_implanted_in_its_region_and_of_an_eligible_kind(
        db, kinds, kind, call_region, site_region):
    sector, status = kind
    call = CallFactory.build(region=region(call_region), eligible_kinds=kinds)
    establishment = Establishment(finess="590780193", name="CH DE TEST", sector=sector, legal_status=status,
                                  region=region(site_region) if site_region else None)
    expected = site_region == call_region and (not kinds or KIND_OF[kind] in kinds)
    assert call.accepts(establishment) is expected
    refusal = call.refusal(establishment)
    assert (refusal is None) is expected
    if site_region is None:
        assert "n'est pas connue" in refusal
    elif site_region != call_region:
        assert f"réservé aux établissements implantés dans la région {region(call_region).name}" in refusal


def test_an_establishment_of_another_region_cannot_start_a_dossier(client, call):
    normandie = site("140000027", "28", name="CENTRE HOSPITALIER DE LISIEUX")
    user = applicant_of(normandie)
    client.force_login(user)
    response = client.post(reverse("dossiers:start", args=[call.slug]), {"establishment": normandie.pk})
    assert response.status_code == 200
    assert ("est implanté dans la région Normandie : cet appel à projets de l'ARS Hauts-de-France est réservé aux "
            "établissements implantés dans la région Hauts-de-France.") in text(response)
    assert not Dossier.objects.exists()


def test_an_establishment_without_a_known_region_is_asked_for_it(client, call):
    unknown = site("590780193", None, name="CLINIQUE SANS RÉGION")
    user = applicant_of(unknown)
    client.force_login(user)
    url = reverse("dossiers:start", args=[call.slug])
    page = text(client.get(url))
    assert "Région où est implanté l'établissement porteur" in page
    response = client.post(url, {"establishment": unknown.pk})
    assert ("La région où est implanté l'établissement CLINIQUE SANS RÉGION (FINESS 590780193) n'est pas connue"
            in text(response))
    assert not Dossier.objects.exists()
    response = client.post(url, {"establishment": unknown.pk, "region": region("28").pk})
    assert "réservé aux établissements implantés dans la région Hauts-de-France" in text(response)
    unknown.refresh_from_db()
    assert unknown.region is None  # a refused start writes nothing
    other = site("590000022", None, name="EHPAD SANS RÉGION")
    EstablishmentAccess.objects.create(user=user, establishment=other)
    response = client.post(url, {"establishment": other.pk, "region": region("32").pk})
    assert response.status_code == 302
    assert Dossier.objects.get().establishment == other
    other.refresh_from_db()
    assert other.region == region("32")


def test_a_known_region_is_never_changed_by_the_start_page(call):
    normandie = site("140000027", "28")
    with pytest.raises(ValidationError):
        services.start_dossier(call, normandie, applicant_of(normandie), region=Region.objects.get(code="32"))
    normandie.refresh_from_db()
    assert normandie.region.code == "28"


def test_parties_prenantes_are_implanted_in_the_region_too(call):
    porteur, normandie = site("590780193"), site("140000027", "28")
    user = applicant_of(porteur, normandie)
    with pytest.raises(ValidationError, match="implanté dans la région Normandie"):
        services.start_dossier(call, porteur, user, partners=[normandie])
    dossier = draft(call, user, porteur)
    with pytest.raises(ValidationError, match="implanté dans la région Normandie"):
        services.set_partners(dossier, [normandie], user)
    assert not dossier.partners.exists()


# --- one dossier per establishment and call -------------------------------------------------------------

def test_one_filed_dossier_per_establishment_and_call_drafts_are_free(call):
    porteur = site("590780193")
    user = applicant_of(porteur)
    first, second = draft(call, user, porteur), draft(call, user, porteur)  # two drafts: allowed
    services.file_dossier(first, user)
    first.refresh_from_db()
    with pytest.raises(services.FilingError) as exc:
        services.file_dossier(second, user)
    assert (f"L'établissement ÉTABLISSEMENT 590780193 (FINESS 590780193) figure déjà, comme porteur, dans le "
            f"dossier n° {first.number} déposé sur cet appel à projets (« En construction »)") in exc.value.messages[0]
    assert Dossier.objects.get(pk=second.pk).state == State.BROUILLON


@pytest.mark.parametrize("state, blocks", [(State.EN_CONSTRUCTION, True), (State.EN_INSTRUCTION, True),
                                           (State.ACCEPTE, True), (State.REFUSE, False), (State.SANS_SUITE, False),
                                           (State.BROUILLON, False)])
def test_which_states_of_the_other_dossier_count(call, state, blocks):
    porteur = site("590780193")
    user = applicant_of(porteur)
    other = draft(call, user, porteur)
    Dossier.objects.filter(pk=other.pk).update(state=state, number="2024-32-000001")
    second = draft(call, user, porteur)
    if blocks:
        with pytest.raises(services.FilingError, match="2024-32-000001"):
            services.file_dossier(second, user)
    else:
        assert services.file_dossier(second, user).state == State.EN_CONSTRUCTION


def test_a_partie_prenante_counts_as_having_filed(call):
    porteur, partner = site("590780193"), site("590000022", name="EHPAD LES TILLEULS")
    user = applicant_of(porteur, partner)
    shared = draft(call, user, porteur, partners=[partner])
    services.file_dossier(shared, user)
    shared.refresh_from_db()
    own = draft(call, user, partner)  # the partie prenante starts its own draft: allowed …
    with pytest.raises(services.FilingError, match=f"comme partie prenante, dans le dossier n° {shared.number}"):
        services.file_dossier(own, user)  # … but not filed
    third = site("590000030", name="CH DE ROUBAIX")
    EstablishmentAccess.objects.create(user=user, establishment=third)
    other = draft(call, user, third)
    # Adding a partie prenante that stands in a filed dossier is refused, at the start and later.
    with pytest.raises(ValidationError, match=f"dans le dossier n° {shared.number}"):
        services.set_partners(other, [partner], user)
    with pytest.raises(ValidationError, match=f"dans le dossier n° {shared.number}"):
        services.start_dossier(call, third, user, partners=[porteur])
    assert not other.partners.exists()
    # Saving the filed dossier's own parties prenantes again is not a conflict with itself.
    services.set_partners(shared, [partner], user)


def test_the_start_page_says_it_at_the_field_and_warns_of_a_draft_that_cannot_be_filed(client, call):
    porteur, partner, third = site("590780193"), site("590000022"), site("590000030")
    user = applicant_of(porteur, partner, third)
    shared = draft(call, user, porteur, partners=[partner])
    services.file_dossier(shared, user)
    shared.refresh_from_db()
    client.force_login(user)
    url = reverse("dossiers:start", args=[call.slug])
    response = client.post(url, {"establishment": third.pk, "partners": [partner.pk]})
    assert response.status_code == 200
    form = response.context["form"]
    assert f"dans le dossier n° {shared.number}" in form.errors["partners"][0]
    response = client.post(url, {"establishment": porteur.pk}, follow=True)
    assert (f"les actions de cet établissement vont dans le dossier n° {shared.number}. Ce nouveau dossier reste un "
            f"brouillon : il ne pourra pas être déposé.") in text(response)
    assert Dossier.objects.filter(establishment=porteur, state=State.BROUILLON).count() == 1


def test_the_partners_page_says_why_at_the_field(client, call):
    porteur, partner, third = site("590780193"), site("590000022"), site("590000030")
    user = applicant_of(porteur, partner, third)
    shared = draft(call, user, porteur, partners=[partner])
    services.file_dossier(shared, user)
    shared.refresh_from_db()
    other = draft(call, user, third)
    client.force_login(user)
    response = client.post(reverse("dossiers:partners", args=[other.pk]), {"partners": [partner.pk]})
    assert response.status_code == 400
    assert f"dans le dossier n° {shared.number}" in text(response)


def test_the_file_page_names_the_other_dossier(client, call):
    porteur = site("590780193")
    user = applicant_of(porteur)
    first, second = draft(call, user, porteur), draft(call, user, porteur)
    services.file_dossier(first, user)
    first.refresh_from_db()
    client.force_login(user)
    assert f"dans le dossier n° {first.number}" in text(client.get(reverse("dossiers:file", args=[second.pk])))
    response = client.post(reverse("dossiers:file", args=[second.pk]), follow=True)
    assert f"dans le dossier n° {first.number}" in text(response)
    assert Dossier.objects.get(pk=second.pk).state == State.BROUILLON


def test_reopening_a_refused_dossier_is_checked_like_a_filing(call):
    porteur = site("590780193")
    user = applicant_of(porteur)
    instructor = InstructorFactory()
    refused = draft(call, user, porteur)
    Dossier.objects.filter(pk=refused.pk).update(state=State.REFUSE, number="2024-32-000001")
    again = draft(call, user, porteur)
    services.file_dossier(again, user)
    again.refresh_from_db()
    with pytest.raises(workflow.TransitionError, match=f"dans le dossier n° {again.number}"):
        workflow.apply(refused, "repasser_en_instruction", instructor)
    assert Dossier.objects.get(pk=refused.pk).state == State.REFUSE


def test_proofs_calls_are_not_concerned(db):
    from guichet.dossiers import unique

    proofs = CallFactory(schema=SCHEMA, kind=CallKind.PROOFS)
    porteur = site("590780193")
    user = applicant_of(porteur)
    filed = DossierFactory(call=proofs, establishment=porteur, created_by=user)
    Dossier.objects.filter(pk=filed.pk).update(state=State.EN_INSTRUCTION, number="2024-32-000009")
    # A proofs dossier per funded call and per payment window (seed 001): a second one may be filed.
    assert unique.refusal(proofs, [porteur]) is None
    unique.check(proofs, [porteur])


def test_another_call_is_not_concerned(call):
    porteur = site("590780193")
    user = applicant_of(porteur)
    services.file_dossier(draft(call, user, porteur), user)
    later = CallFactory(schema=SCHEMA, year=2025)
    assert services.file_dossier(draft(later, user, porteur), user).state == State.EN_CONSTRUCTION


def test_the_admin_and_the_api_start_no_dossier_and_add_no_partie_prenante():
    """The rule has its ways in (``start_dossier``, ``set_partners``, ``file_dossier``, the reopening guard):
    neither the admin nor the API creates a dossier or changes its parties prenantes. A new API write on
    dossiers fails this test until it is checked against the rule."""
    from django.contrib import admin

    from guichet.api.api import api

    model_admin = admin.site._registry[Dossier]
    assert model_admin.has_add_permission(None) is False
    assert model_admin.has_change_permission(None) is False
    writes = sorted(f"{method.upper()} {path}" for path, item in api.get_openapi_schema()["paths"].items()
                    for method in item if method in ("post", "put", "patch", "delete") and "/dossiers" in path)
    assert writes == ["POST /api/v1/dossiers/{number}/messages", "POST /api/v1/dossiers/{number}/transitions"]


def test_reopening_through_the_api_is_checked_too(client, call):
    from guichet.api.models import issue_token

    porteur = site("590780193")
    user = applicant_of(porteur)
    refused = draft(call, user, porteur)
    Dossier.objects.filter(pk=refused.pk).update(state=State.REFUSE, number="2024-32-000001")
    again = draft(call, user, porteur)
    services.file_dossier(again, user)
    again.refresh_from_db()
    _, token = issue_token(InstructorFactory(), "outil", write=True)
    response = client.post("/api/v1/dossiers/2024-32-000001/transitions", {"event": "repasser_en_instruction"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 409 and f"dans le dossier n° {again.number}" in response.json()["detail"]
    assert Dossier.objects.get(pk=refused.pk).state == State.REFUSE


# --- two filings at once -------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_filings_at_once_cannot_both_pass():
    call = CallFactory(schema=SCHEMA)
    porteur, partner = site("590780193"), site("590000022")
    user = applicant_of(porteur, partner)
    first = draft(call, user, porteur, partners=[partner])
    second = draft(call, user, partner)
    barrier, outcomes = threading.Barrier(2), []

    def file(dossier):
        try:
            barrier.wait()
            services.file_dossier(dossier, user)
            outcomes.append("filed")
        except services.FilingError:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 (a database error would be a failure too, shown here)
            outcomes.append(repr(exc))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=file, args=(d,)) for d in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["filed", "refused"]
    assert Dossier.objects.filter(state=State.EN_CONSTRUCTION).count() == 1


# --- the rule as a property ----------------------------------------------------------------------------

START = st.tuples(st.just("start"), st.integers(0, 2), st.sets(st.integers(0, 2), max_size=2))
FILE = st.tuples(st.just("file"), st.integers(0, 5))
OPS = st.one_of(  # starting and filing weigh more: the rule is about what is filed
    START, START, FILE, FILE, FILE,
    st.tuples(st.just("partners"), st.integers(0, 5), st.sets(st.integers(0, 2), max_size=2)),
    st.tuples(st.sampled_from(["instruct", "refuse", "accept", "reopen"]), st.integers(0, 5)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=12))
def test_property_an_establishment_never_stands_in_two_dossiers_of_a_call(db, ops):
    """Whatever the applicants and the instructor do, in any order, no establishment is ever porteur or
    partie prenante of two standing dossiers of one call; and what the rule refuses, it says why."""
    from django.core.exceptions import PermissionDenied

    from guichet.dossiers import unique

    call = CallFactory(schema=SCHEMA)  # a new call per example: the examples do not see each other
    sites = [site("590780193"), site("590000022"), site("590000030")]
    user = EstablishmentAccess.objects.filter(establishment=sites[0]).first()
    user = user.user if user else applicant_of(*sites)
    instructor = InstructorFactory()
    dossiers = []
    for op in ops:
        try:
            if op[0] == "start":
                dossiers.append(draft(call, user, sites[op[1]], partners=[sites[i] for i in op[2]]))
            elif not dossiers:
                continue
            elif op[0] == "partners":
                services.set_partners(dossiers[op[1] % len(dossiers)], [sites[i] for i in op[2]], user)
            else:
                dossier = Dossier.objects.get(pk=dossiers[op[1] % len(dossiers)].pk)
                if op[0] == "file":
                    services.file_dossier(dossier, user)
                else:
                    event = {"instruct": "passer_en_instruction", "refuse": "refuser", "accept": "accepter",
                             "reopen": "repasser_en_instruction"}[op[0]]
                    workflow.apply(dossier, event, instructor, motivation="Motif")
        except (ValidationError, PermissionDenied) as exc:
            assert exc.messages if isinstance(exc, ValidationError) else str(exc)
        for establishment in sites:
            standing = (Dossier.objects.filter(call=call, state__in=unique.STANDING)
                        .filter(Q(establishment=establishment) | Q(partners=establishment)).distinct())
            assert standing.count() <= 1, (op, [(d.number, d.state) for d in standing])
