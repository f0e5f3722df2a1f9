"""The seed procedures as template calls: YAML content, loading, copying, demo shifting."""

import datetime as dt
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.core.management import call_command

from guichet.calls.models import Call, CallKind, EligibleKind, FormVersion
from guichet.calls.templates_loader import (
    TEMPLATES_DIR,
    copy_call,
    load_seed_templates,
    shift_template_for_demo,
    shifted_dates,
)
from guichet.formschema.schema import SchemaError, parse_schema

PARIS = ZoneInfo("Europe/Paris")
HDF = "hdf-2024-candidature.yaml"
GE = "grand-est-2025-2026-candidature.yaml"
PROOFS = "hdf-2024-justificatifs.yaml"


def raw(name):
    with open(TEMPLATES_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def schema(name):
    return parse_schema(raw(name)["form"])


def paris(*args):
    return dt.datetime(*args, tzinfo=PARIS)


def doc_labels(name, part):
    return [d["label"] for d in raw(name)["required_documents"] if d["part"] == part]


# --- the YAML files ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [HDF, GE, PROOFS])
def test_each_template_validates(name):
    data = raw(name)
    parsed = parse_schema(data["form"])
    assert parsed.sections
    assert data["slug"].startswith("modele-")
    assert data["kind"] in CallKind.values
    assert set(data["eligible_kinds"]) <= set(EligibleKind.values)
    assert "demarches-simplifiees" not in data["notice"]
    assert "\n\n" in data["notice"]  # paragraphs
    for doc in data["required_documents"]:
        assert set(doc) == {"label", "part", "optional", "may_come_later"}
        assert 1 <= doc["part"] <= len(parsed.sections)
    keys = [f.key for s in parsed.sections for f in s.fields]
    top = [f for sec in parsed.sections for f in sec.fields]
    for field in top + [child for f in top for child in f.children]:
        assert field.key.isascii() and field.key == field.key.lower()
    assert len(keys) == len(set(keys))


def test_parse_schema_refuses_a_broken_template():
    data = raw(HDF)["form"]
    data["sections"][0]["fields"][-1]["show_if"]["field"] = "inexistant"
    with pytest.raises(SchemaError) as exc:
        parse_schema(data)
    assert any("ght_nom" in m for m in exc.value.messages)


def test_hdf_has_five_sections_and_ght_condition():
    s = schema(HDF)
    assert len(s.sections) == 5
    assert [sec.title[0] for sec in s.sections] == ["1", "2", "3", "4", "5"]
    ght = s.field("ght_nom")
    assert ght.required and ght.show_if.field == "membre_ght"
    assert ght.show_if.op == "equals" and ght.show_if.value is True
    assert s.field("membre_ght").type == "yesno"
    assert s.field("finess_juridique").type == "finess" and s.field("finess_geographique").type == "finess"
    assert s.field("siret").type == "siret"


def test_hdf_rates_are_percentages():
    s = schema(HDF)
    for key in ("taux_absenteisme", "taux_turnover"):
        assert s.field(key).type == "percentage"
        assert "%" in s.field(key).help
        assert s.field(key).section.key == "caracteristiques"


def test_hdf_files_per_part():
    s = schema(HDF)
    files = {sec.key: {f.key for f in sec.fields if f.type == "file"} for sec in s.sections}
    assert files["caracteristiques"] == {"bilan_social", "duerp_plan_prevention"}
    assert s.field("bilan_social").required and not s.field("duerp_plan_prevention").required
    assert "précédent CLACT" in s.field("duerp_plan_prevention").help
    assert files["projet"] == {"presentation_projet", "avis_cse", "clact", "bordereau_precedent_clact"}
    assert s.field("bordereau_precedent_clact").show_if.field == "precedent_clact"
    assert s.field("actions.devis").type == "file" and s.field("actions.devis").required


def test_hdf_required_documents_follow_the_seed():
    assert len(doc_labels(HDF, 2)) == 2
    assert "bilan social" in doc_labels(HDF, 2)[0]
    assert "DUERP" in doc_labels(HDF, 2)[1]
    part3 = " | ".join(doc_labels(HDF, 3))
    assert len(doc_labels(HDF, 3)) == 4
    for words in ("lettre d'accompagnement", "comité social", "projet de CLACT", "Bordereau"):
        assert words in part3
    assert doc_labels(HDF, 4) == ["Devis des actions"]
    docs = raw(HDF)["required_documents"]
    assert [d["optional"] for d in docs] == [False, True, False, False, False, True, False]
    assert not any(d["may_come_later"] for d in docs)


def test_hdf_actions_and_totals():
    s = schema(HDF)
    actions = s.field("actions")
    assert actions.type == "repeat"
    assert actions.opt("min_rows") == 1 and actions.opt("max_rows") == 50
    assert [c.key for c in actions.children] == [
        "intitule", "description", "theme_qvct", "calendrier", "cout_total", "financement_autre",
        "autre_organisme", "montant_demande", "reste_a_charge", "devis"]
    assert "« 0 »" in s.field("actions.financement_autre").help
    assert s.field("actions.autre_organisme").opt("accept_non_concerne") is True
    assert s.field("actions.montant_demande").type == "amount"
    assert s.field("total_cout").opt("expression") == "sum(actions.cout_total)"
    assert s.field("total_montant_demande").opt("expression") == "sum(actions.montant_demande)"
    order = [f.path for f in s.computed_order]
    assert order.index("actions.reste_a_charge") < order.index("total_reste_a_charge")
    referent = [f.type for f in s.section("referent").fields]
    assert referent == ["text", "text", "text", "email", "phone"]


def test_grand_est_structure():
    s = schema(GE)
    assert [sec.key for sec in s.sections] == ["identification", "description", "projet", "pieces"]
    assert s.field("etablissement_porteur").type == "establishment"
    # The parties prenantes are the dossier's own (chosen when it starts, on its page), never asked again here.
    assert s.field("parties_prenantes") is None and s.field("dossier_mutualise") is None
    assert s.field("parties_prenantes_explication").type == "explanation"
    for key in ("taux_absenteisme", "taux_turnover"):
        assert s.field(key).type == "percentage"
    assert s.field("effectif_medical").type == "integer" and s.field("etp_medical").type == "decimal"
    assert s.field("etp_total").opt("expression") == "etp_medical + etp_non_medical"


def test_grand_est_actions_and_cse():
    s = schema(GE)
    children = {c.key: c for c in s.field("actions").children}
    assert {"intitule", "theme_qvct", "priorite", "structures_concernees", "professionnels_concernes",
            "nombre_agents", "cout_total", "montant_demande"} <= set(children)
    assert children["nombre_agents"].type == "integer"
    assert s.field("total_agents").opt("expression") == "sum(actions.nombre_agents)"
    assert s.field("total_montant_demande").opt("expression") == "sum(actions.montant_demande)"
    joint = s.field("avis_cse_joint")
    assert joint.type == "yesno" and joint.required
    date = s.field("date_reunion_cse")
    assert date.type == "date" and date.required
    assert (date.show_if.field, date.show_if.value) == ("avis_cse_joint", False)
    assert (s.field("avis_cse").show_if.field, s.field("avis_cse").show_if.value) == ("avis_cse_joint", True)
    files = [f.key for f in s.section("pieces").fields if f.type == "file"]
    assert files == ["rib", "contrat_negocie", "avis_cse", "duerp_plan_prevention", "fiche_recapitulative",
                     "attestations_precedents"]
    assert not s.field("attestations_precedents").required


def test_grand_est_documents_and_eligibility():
    data = raw(GE)
    docs = data["required_documents"]
    assert len(docs) == 6
    later = [d["label"] for d in docs if d["may_come_later"]]
    assert later == ["Avis du CSE (a minima)"]
    assert docs[-1]["optional"] is True
    assert set(data["eligible_kinds"]) == set(EligibleKind.values)
    assert "31/12/2025" in data["notice"]
    assert "3,8 M€" in data["notice"]


def test_proofs_structure():
    s = schema(PROOFS)
    assert len(s.sections) == 3
    # Parts 2 and 3 point to the invoices page and the bordereau (a spreadsheet, one sheet per establishment).
    assert "onglet par établissement" in s.sections[2].description
    data = raw(PROOFS)
    assert data["covered_years"] == [2020, 2021, 2022, 2024]
    assert data["cofinancing_rate"] == 50 and data["kind"] == "proofs"
    windows = data["payment_windows"]
    assert [(w["received_from"], w["received_until"]) for w in windows] == [
        (None, "2024-05-31"), ("2024-06-01", "2024-11-15")]


def test_eligibility_per_template():
    sanitaire = {"sanitaire_public", "sanitaire_prive", "sanitaire_espic"}
    assert set(raw(HDF)["eligible_kinds"]) == sanitaire
    assert set(raw(PROOFS)["eligible_kinds"]) == sanitaire


# --- the schemas at work (form engine) ---------------------------------------------------------

def test_hdf_computed_totals_and_conditions():
    engine = pytest.importorskip("guichet.formschema.engine")
    s = schema(HDF)
    answers = {"membre_ght": False, "precedent_clact": False, "actions": [
        {"cout_total": "10000.00", "financement_autre": "0", "montant_demande": "5000.00"},
        {"cout_total": "2500.50", "financement_autre": "500.00", "montant_demande": "1000.00"},
    ]}
    result = engine.compute(s, answers, Decimal("50"))
    assert [r["reste_a_charge"] for r in result["actions"]] == ["5000.00", "1000.50"]
    assert result["total_cout"] == "12500.50"
    assert result["total_montant_demande"] == "6000.00"
    assert result["total_reste_a_charge"] == "6000.50"
    assert result["nombre_actions"] == "2"
    assert engine.compute(s, {}, Decimal("50"))["part_demandee_ars"] is None  # no division by zero
    missing = {m.path for m in engine.missing_items(s, answers)}
    assert "ght_nom" not in missing and "bordereau_precedent_clact" not in missing
    assert "membre_ght" not in missing and "raison_sociale" in missing and "actions.0.devis" in missing
    missing = {m.path for m in engine.missing_items(s, {"membre_ght": True, "precedent_clact": True})}
    assert {"ght_nom", "bordereau_precedent_clact", "actions"} <= missing
    assert "duerp_plan_prevention" not in missing


def test_grand_est_cse_date_required_when_the_opinion_comes_later():
    engine = pytest.importorskip("guichet.formschema.engine")
    s = schema(GE)
    missing = {m.path for m in engine.missing_items(s, {"avis_cse_joint": False})}
    assert "date_reunion_cse" in missing and "avis_cse" not in missing
    missing = {m.path for m in engine.missing_items(s, {"avis_cse_joint": True})}
    assert "avis_cse" in missing and "date_reunion_cse" not in missing
    result = engine.compute(s, {"effectif_medical": 40, "effectif_non_medical": 360, "etp_medical": "35.5",
                                "etp_non_medical": "330.25",
                                "actions": [{"nombre_agents": 120, "montant_demande": "8000"},
                                            {"nombre_agents": 30, "montant_demande": "2000"}]})
    assert (result["effectif_total"], result["etp_total"]) == ("400", "365.75")
    assert (result["total_agents"], result["total_montant_demande"]) == ("150", "10000.00")


def test_proofs_form_asks_only_what_the_platform_does_not_know():
    """Grants, ceilings and amounts paid are known: parts 2 and 3 explain, the invoices page collects."""
    engine = pytest.importorskip("guichet.formschema.engine")
    s = schema(PROOFS)
    assert [section.key for section in s.sections] == ["identification", "appel_concerne", "justificatifs"]
    missing = {m.path for m in engine.missing_items(s, {})}
    assert "raison_sociale" in missing and not missing & {"observations", "plafond_subvention", "actions"}


# --- loading ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_load_creates_templates_with_the_seeds_dates():
    calls = {c.slug: c for c in load_seed_templates()}
    assert set(calls) == {"modele-hdf-2024-candidature", "modele-grand-est-2025-2026-candidature",
                          "modele-hdf-2024-justificatifs"}
    hdf = Call.objects.get(slug="modele-hdf-2024-candidature")
    assert hdf.is_template and hdf.region.code == "32" and hdf.year == 2024 and hdf.kind == CallKind.APPLICATION
    assert hdf.opens_at == paris(2024, 1, 26)
    # « du 26 janvier 2024 au 31 juillet 2024 »: the whole of 31 July, closed from 1 August at midnight
    assert hdf.closes_at == paris(2024, 8, 1)
    assert hdf.deadline.until_paris == "jusqu'au 31 juillet 2024 inclus (heure de Paris)"
    assert len(hdf.required_documents) == 7
    ge = Call.objects.get(slug="modele-grand-est-2025-2026-candidature")
    assert ge.region.code == "44" and ge.closes_at == paris(2026, 1, 1)
    assert ge.envelope is None
    proofs = Call.objects.get(slug="modele-hdf-2024-justificatifs")
    assert proofs.kind == CallKind.PROOFS and proofs.cofinancing_rate == Decimal("50")
    assert proofs.closes_at == paris(2024, 11, 16)
    assert proofs.deadline.until == "jusqu'au 15 novembre 2024 inclus"
    assert not Call.objects.open_at().exists()  # templates are never open
    for call in (hdf, ge, proofs):
        assert call.current_form.number == 1
        call.current_form.parsed()
    assert proofs.payment_windows[0]["paid_by"] == "2024-06-30"


@pytest.mark.django_db
def test_load_is_idempotent():
    load_seed_templates()
    counts = Call.objects.count(), FormVersion.objects.count()
    calls = load_seed_templates()
    assert (Call.objects.count(), FormVersion.objects.count()) == counts == (3, 3)
    assert all(not c.load_report.created and not c.load_report.new_form_version for c in calls)
    assert all(not c.load_report.updated_fields for c in calls)


@pytest.mark.django_db
def test_load_adds_a_form_version_only_when_the_schema_changed():
    load_seed_templates()
    hdf = Call.objects.get(slug="modele-hdf-2024-candidature")
    edited = hdf.current_form.schema
    edited["sections"][0]["title"] = "Titre modifié"
    FormVersion.objects.create(call=hdf, number=2, schema=edited)
    hdf.title = "Titre modifié"
    hdf.save()
    load_seed_templates()
    hdf.refresh_from_db()
    assert hdf.form_versions.count() == 3
    assert hdf.current_form.schema == raw(HDF)["form"]
    assert hdf.title == raw(HDF)["title"]


@pytest.mark.django_db
def test_command_reports_what_it_did():
    out = StringIO()
    call_command("load_call_templates", stdout=out)
    assert "modele-hdf-2024-candidature : créé" in out.getvalue()
    out = StringIO()
    call_command("load_call_templates", stdout=out)
    assert "inchangé" in out.getvalue() and "3 modèles d'appel à projets chargés" in out.getvalue()


# --- copying and demo -------------------------------------------------------------------------

@pytest.mark.django_db
def test_copy_call_is_independent():
    template = next(c for c in load_seed_templates() if c.slug == "modele-grand-est-2025-2026-candidature")
    new = copy_call(template, region="44", title="CLACT 2026-2027", slug="clact-grand-est-2026",
                    opens_at=paris(2026, 9, 1), closes_at=paris(2026, 12, 31, 23, 59, 59), year=2026)
    assert not new.is_template and new.pk != template.pk
    assert new.year == 2026 and new.region.code == "44" and new.kind == template.kind
    assert new.eligible_kinds == template.eligible_kinds
    assert new.required_documents == template.required_documents
    assert new.current_form.number == 1 and new.current_form.schema == template.current_form.schema
    assert new.current_form.pk != template.current_form.pk
    new.required_documents[0]["label"] = "Modifié"
    new.save()
    schema_copy = new.current_form.schema
    schema_copy["sections"][0]["title"] = "Modifié"
    FormVersion.objects.filter(pk=new.current_form.pk).update(schema=schema_copy)
    template.refresh_from_db()
    assert template.required_documents[0]["label"] == "RIB à jour de l'établissement"
    assert template.current_form.schema == raw(GE)["form"]
    assert copy_call(template, region=template.region, title="t", slug="autre", opens_at=paris(2026, 1, 1),
                     closes_at=paris(2026, 2, 1)).year == 2025
    with pytest.raises(ValueError):
        copy_call(template, region="44", title="t", slug="clact-grand-est-2026", opens_at=paris(2026, 1, 1),
                  closes_at=paris(2026, 2, 1))


@pytest.mark.django_db
@pytest.mark.parametrize("now", [
    paris(2026, 3, 10, 9, 30),   # inside the window after a whole-year shift
    paris(2026, 11, 20, 14, 0),  # outside every yearly window: days shift too
    paris(2026, 7, 31, 22, 0),   # less than a week left: days shift too
    paris(2025, 1, 1, 0, 0, 30),
])
def test_demo_shift_is_open_today_and_keeps_the_deadline_time(now):
    templates = {c.slug: c for c in load_seed_templates()}
    template = templates["modele-hdf-2024-candidature"]
    demo = shift_template_for_demo(template, now)
    assert demo.slug == "hdf-2024-candidature" and not demo.is_template
    assert demo.is_open(now)
    closes = demo.closes_at.astimezone(PARIS)
    assert closes.time() == dt.time(0, 0) and demo.deadline.is_day  # still a whole day, included
    assert demo.opens_at.astimezone(PARIS).time() == dt.time(0, 0)
    wall = closes.replace(tzinfo=None) - demo.opens_at.astimezone(PARIS).replace(tzinfo=None)
    assert wall == dt.datetime(2024, 8, 1) - dt.datetime(2024, 1, 26)
    assert demo.current_form.schema == template.current_form.schema
    assert (closes - now) >= dt.timedelta(days=7)
    # the template keeps the seed's dates; running again updates the same demo call
    template.refresh_from_db()
    assert template.closes_at == paris(2024, 8, 1)
    again = shift_template_for_demo(template, now + dt.timedelta(days=1))
    assert again.pk == demo.pk and again.is_open(now + dt.timedelta(days=1))
    assert again.form_versions.count() == 1


@pytest.mark.django_db
def test_demo_shift_prefers_whole_years():
    templates = {c.slug: c for c in load_seed_templates()}
    demo = shift_template_for_demo(templates["modele-grand-est-2025-2026-candidature"], paris(2027, 10, 15, 12))
    assert demo.slug == "grand-est-2025-2026-candidature"
    assert demo.opens_at == paris(2027, 9, 1) and demo.closes_at == paris(2028, 1, 1)
    assert demo.deadline.until == "jusqu'au 31 décembre 2027 inclus"
    assert Call.objects.open_at(paris(2027, 10, 15, 12)).get() == demo


def test_shifted_dates_across_daylight_saving():
    opens, closes = shifted_dates(paris(2024, 1, 1), paris(2024, 11, 16), paris(2026, 12, 1, 12))
    assert opens <= paris(2026, 12, 1, 12) < closes
    assert closes.astimezone(PARIS).time() == dt.time(0, 0)  # still the end of a whole day
    assert opens.astimezone(PARIS).time() == dt.time(0, 0)
