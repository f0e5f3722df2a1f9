"""The form engine: schema validation, conditions, completeness, computed fields, Django forms."""

from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from hypothesis import given, settings
from hypothesis import strategies as st

from guichet.formschema.engine import compute, is_visible, missing_items, strip_hidden
from guichet.formschema.forms import FormContext, build_section_form, merge_section
from guichet.formschema.schema import SchemaError, parse_schema
from tests.factories import CallFactory, DossierFactory


def one_section(*fields, key="s", title="Partie"):
    return {"sections": [{"key": key, "title": title, "fields": list(fields)}]}


def refusal(data) -> str:
    with pytest.raises(SchemaError) as exc_info:
        parse_schema(data)
    return "\n".join(exc_info.value.messages)


TEXT = {"key": "nom", "type": "text", "label": "Nom"}
AMOUNT = {"key": "cout", "type": "amount", "label": "Coût"}
YESNO = {"key": "membre_ght", "type": "yesno", "label": "Membre d'un GHT ?"}
CHOICE = {"key": "statut", "type": "choice", "label": "Statut", "options": ["Public", "Privé"]}


# --- refusals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, names, message", [
    pytest.param(one_section(TEXT, {**TEXT, "label": "Encore"}), "« nom »", "déjà utilisée", id="duplicate key"),
    pytest.param({"sections": [{"key": "a", "title": "A", "fields": [TEXT]},
                               {"key": "b", "title": "B", "fields": [TEXT]}]},
                 "« nom »", "déjà utilisée dans le formulaire", id="duplicate key across sections"),
    pytest.param(one_section({"key": "bloc", "type": "repeat", "label": "Bloc", "fields": [TEXT, TEXT]}),
                 "« nom »", "déjà utilisée dans le bloc", id="duplicate key in a block"),
    pytest.param(one_section({"key": "x", "type": "money", "label": "X"}), "« x »", "type « money » inconnu",
                 id="unknown type"),
    pytest.param(one_section({**TEXT, "maxlength": 10}), "« nom »", "option « maxlength » inconnue",
                 id="unknown option"),
    pytest.param(one_section({**AMOUNT, "decimal_places": 3}), "« cout »", "option « decimal_places » inconnue",
                 id="option of another type"),
    pytest.param(one_section({**TEXT, "show_if": {"field": "membre_ght", "op": "checked"}}, YESNO),
                 "« nom »", "« membre_ght », qui n'existe pas au-dessus", id="show_if on a field below"),
    pytest.param(one_section({**TEXT, "show_if": {"field": "nom", "op": "equals", "value": "x"}}),
                 "« nom »", "« nom », qui n'existe pas au-dessus", id="show_if on itself"),
    pytest.param(one_section({**TEXT, "show_if": {"field": "fantome", "op": "equals", "value": "x"}}),
                 "« nom »", "« fantome », qui n'existe pas", id="show_if on a missing field"),
    pytest.param({"sections": [
        {"key": "a", "title": "A", "fields": [{**TEXT, "show_if": {"field": "membre_ght", "op": "checked"}}]},
        {"key": "b", "title": "B", "fields": [YESNO]}]},
        "« nom »", "« membre_ght », qui n'existe pas au-dessus", id="show_if on a later section"),
    pytest.param(one_section(
        {"key": "b1", "type": "repeat", "label": "B1", "fields": [YESNO]},
        {"key": "b2", "type": "repeat", "label": "B2", "fields": [
            {**TEXT, "show_if": {"field": "membre_ght", "op": "checked"}}]}),
        "« nom »", "« membre_ght », qui n'existe pas au-dessus", id="show_if on another block's child"),
    pytest.param(one_section({"key": "b1", "type": "repeat", "label": "B1", "fields": [YESNO]},
                             {**TEXT, "show_if": {"field": "membre_ght", "op": "checked"}}),
                 "« nom »", "« membre_ght », qui n'existe pas", id="top-level show_if on a block child"),
    pytest.param(one_section({"key": "b1", "type": "repeat", "label": "B1", "fields": [AMOUNT]},
                             {**TEXT, "show_if": {"field": "b1", "op": "equals", "value": 1}}),
                 "« nom »", "ne peut pas porter sur « b1 »", id="show_if on a block"),
    pytest.param(one_section({"key": "nom_ght", "type": "text", "label": "GHT"},
                             {**TEXT, "show_if": {"field": "nom_ght", "op": "checked"}}),
                 "« nom »", "« checked » ne s'applique qu'à un champ oui / non", id="checked on a text field"),
    pytest.param(one_section(CHOICE, {**TEXT, "show_if": {"field": "statut", "op": "equals", "value": "ESPIC"}}),
                 "« nom »", "la valeur « ESPIC » n'est pas une option de « statut »", id="choice value not an option"),
    pytest.param(one_section(YESNO, {**TEXT, "show_if": {"field": "membre_ght", "op": "equals"}}),
                 "« nom »", "demande une valeur", id="condition without value"),
    pytest.param(one_section(YESNO, {**TEXT, "show_if": {"field": "membre_ght", "op": "greater", "value": 1}}),
                 "« nom »", "opérateur de condition « greater » inconnu", id="unknown operator"),
    pytest.param(one_section({"key": "total", "type": "computed", "label": "T", "expression": "cout * 2"}),
                 "« total »", "utilise « cout », qui n'existe pas", id="computed on a missing field"),
    pytest.param(one_section({"key": "b", "type": "repeat", "label": "B", "fields": [AMOUNT]},
                             {"key": "total", "type": "computed", "label": "T", "expression": "cout + 1"}),
                 "« total »", "écrivez sum(bloc.champ)", id="block child without sum()"),
    pytest.param(one_section({"key": "b", "type": "repeat", "label": "B", "fields": [AMOUNT]},
                             {"key": "total", "type": "computed", "label": "T", "expression": "sum(b.x)"}),
                 "« total »", "le bloc « b » n'a pas de champ « x »", id="sum over a missing child"),
    pytest.param(one_section(AMOUNT, {"key": "total", "type": "computed", "label": "T", "expression": "sum(cout.x)"}),
                 "« total »", "« cout », qui n'est pas un bloc répétable", id="sum over a non-block"),
    pytest.param(one_section(TEXT, {"key": "total", "type": "computed", "label": "T", "expression": "nom + 1"}),
                 "« total »", "« nom » n'est pas un champ numérique", id="non-numeric field"),
    pytest.param(one_section({"key": "b", "type": "repeat", "label": "B", "fields": [TEXT]},
                             {"key": "t", "type": "computed", "label": "T", "expression": "sum(b.nom)"}),
                 "« t »", "« b.nom » n'est pas un champ numérique", id="sum of a non-numeric child"),
    pytest.param(one_section({"key": "b1", "type": "repeat", "label": "B1", "fields": [AMOUNT]},
                             {"key": "b2", "type": "repeat", "label": "B2", "fields": [
                                 {"key": "t", "type": "computed", "label": "T", "expression": "cout"}]}),
                 "« b2.t »", "utilise « cout », qui n'existe pas", id="computed on another block's child"),
    pytest.param(one_section({"key": "t", "type": "computed", "label": "T", "expression": "a ** 2"}),
                 "« t »", "seules les opérations", id="expression outside the language"),
    pytest.param(one_section({"key": "f", "type": "file", "label": "F", "max_size_mb": 201}),
                 "« f »", "« max_size_mb » doit être un entier entre 1 et 200", id="max_size_mb 201"),
    pytest.param(one_section({"key": "f", "type": "file", "label": "F", "allowed_types": ["exe"]}),
                 "« f »", "type de fichier inconnu : exe", id="unknown file type"),
    pytest.param(one_section({"key": "b", "type": "repeat", "label": "B", "min_rows": 5, "max_rows": 2,
                              "fields": [AMOUNT]}),
                 "« b »", "« min_rows » est supérieur à « max_rows »", id="min_rows above max_rows"),
    pytest.param(one_section({"key": "b", "type": "repeat", "label": "B", "fields": [
        {"key": "c", "type": "repeat", "label": "C", "fields": [AMOUNT]}]}),
        "« c »", "ne peut pas contenir un autre bloc répétable", id="nested repeat"),
    pytest.param(one_section({"key": "b", "type": "repeat", "label": "B", "fields": []}),
                 "« b »", "au moins un champ", id="empty block"),
    pytest.param(one_section({"key": "taux", "type": "percentage", "label": "Taux"}),
                 "« taux »", "réservée au taux de cofinancement", id="reserved key taux"),
    pytest.param(one_section({"key": "Nom", "type": "text", "label": "Nom"}),
                 "« Nom »", "invalide", id="key with capitals"),
    pytest.param(one_section({"key": "nom", "type": "text"}), "« nom »", "libellé", id="missing label"),
    pytest.param(one_section({**CHOICE, "options": ["A", "A"]}), "« statut »", "deux fois", id="duplicate options"),
    pytest.param(one_section({**CHOICE, "options": []}), "« statut »", "liste non vide", id="no options"),
    pytest.param(one_section({**AMOUNT, "min": "abc"}), "« cout »", "« min » doit être un nombre",
                 id="min not a number"),
    pytest.param(one_section({**AMOUNT, "max": "NaN"}), "« cout »", "« max » doit être un nombre",
                 id="max NaN"),
    pytest.param(one_section({"key": "h", "type": "heading", "label": "H", "required": True}),
                 "« h »", "ne peut pas être obligatoire", id="required heading"),
])
def test_schema_refusals_name_the_field(data, names, message):
    lines = refusal(data).splitlines()
    assert any(names in line and message in line for line in lines), lines  # one line names the field


def test_cycle_among_three_computed_fields_is_listed():
    text = refusal(one_section(
        {"key": "a", "type": "computed", "label": "A", "expression": "b + 1"},
        {"key": "b", "type": "computed", "label": "B", "expression": "c * 2"},
        {"key": "c", "type": "computed", "label": "C", "expression": "a / 2 + cout"},
        AMOUNT,
    ))
    assert "dépendance circulaire" in text
    assert "a → b → c → a" in text and text.count("dépendance circulaire") == 1


def test_self_reference_is_a_cycle():
    assert "dépendance circulaire : a → a" in refusal(
        one_section({"key": "a", "type": "computed", "label": "A", "expression": "a + 1"}))


def test_every_problem_is_reported_at_once():
    text = refusal(one_section({"key": "taux", "type": "text", "label": "T"}, {"key": "x", "type": "money"},
                               {**TEXT, "colour": "red"}))
    assert len(text.splitlines()) >= 3


@pytest.mark.parametrize("data", [None, {}, {"sections": []}, {"sections": "x"}, []])
def test_a_schema_without_sections_is_refused(data):
    assert "sections" in refusal(data)


def test_valid_conditions_and_expressions_are_accepted():
    schema = parse_schema(one_section(
        YESNO, CHOICE,
        {"key": "ght", "type": "text", "label": "GHT", "show_if": {"field": "membre_ght", "op": "equals",
                                                                   "value": True}},
        {"key": "b", "type": "repeat", "label": "B", "min_rows": 1, "max_rows": 1, "fields": [
            {"key": "kind", "type": "choice", "label": "K", "options": ["x", "y"]},
            {**AMOUNT, "show_if": {"field": "kind", "op": "equals", "value": "x"}},
            {"key": "ght_row", "type": "text", "label": "G", "show_if": {"field": "membre_ght", "op": "checked"}},
        ]},
        {"key": "t", "type": "computed", "label": "T", "expression": "sum(b.cout) * taux / 100"},
    ))
    assert schema.field("b.cout").show_if.field == "kind"
    assert [f.path for f in schema.computed_order] == ["t"]


# --- conditions ------------------------------------------------------------------------------------

COND = parse_schema({"sections": [
    {"key": "identification", "title": "1. Identification", "fields": [
        {"key": "statut", "type": "choice", "label": "Statut", "required": True, "options": ["Public", "Privé"]},
        {"key": "membre_ght", "type": "yesno", "label": "Membre d'un GHT ?", "required": True,
         "show_if": {"field": "statut", "op": "equals", "value": "Public"}},
        {"key": "ght", "type": "text", "label": "GHT", "required": True,
         "show_if": {"field": "membre_ght", "op": "checked"}},
        {"key": "financement", "type": "choice", "label": "Autre financement", "options": ["Aucun", "FIR", "Autre"]},
        {"key": "financeur", "type": "text", "label": "Financeur", "required": True,
         "show_if": {"field": "financement", "op": "differs", "value": "Aucun"}},
        {"key": "themes", "type": "multichoice", "label": "Thèmes", "options": ["Santé", "Management", "Autre"]},
        {"key": "theme_autre", "type": "text", "label": "Autre thème", "required": True,
         "show_if": {"field": "themes", "op": "contains", "value": "Autre"}},
        {"key": "description", "type": "textarea", "label": "Description"},
        {"key": "precision_rps", "type": "textarea", "label": "RPS", "required": True,
         "show_if": {"field": "description", "op": "contains", "value": "risques psychosociaux"}},
        {"key": "accord", "type": "checkbox", "label": "J'atteste", "required": True},
    ]},
    {"key": "actions", "title": "2. Actions", "fields": [
        {"key": "externalise", "type": "yesno", "label": "Prestataire externe ?"},
        {"key": "actions", "type": "repeat", "label": "Actions", "min_rows": 2, "max_rows": 10, "fields": [
            {"key": "intitule", "type": "text", "label": "Intitulé", "required": True},
            {"key": "type_action", "type": "choice", "label": "Type", "options": ["Formation", "Équipement", "Autre"]},
            {"key": "precision", "type": "text", "label": "Précision", "required": True,
             "show_if": {"field": "type_action", "op": "equals", "value": "Autre"}},
            {"key": "cofinance", "type": "yesno", "label": "Cofinancé ?",
             "show_if": {"field": "type_action", "op": "differs", "value": "Formation"}},
            {"key": "cofinanceur", "type": "text", "label": "Cofinanceur", "required": True,
             "show_if": {"field": "cofinance", "op": "checked"}},
            {"key": "prestataire", "type": "text", "label": "Prestataire", "required": True,
             "show_if": {"field": "externalise", "op": "equals", "value": True}},
            {"key": "cout", "type": "amount", "label": "Coût", "required": True},
        ]},
    ]},
]})


def visible(path, answers, row=None):
    return is_visible(COND, COND.field(path), answers, row)


@pytest.mark.parametrize("answers, shown", [
    ({}, False),
    ({"membre_ght": True}, False),  # statut not answered: membre_ght hidden, so ght too
    ({"statut": "Public", "membre_ght": True}, True),
    ({"statut": "Public", "membre_ght": False}, False),
    ({"statut": "Privé", "membre_ght": True}, False),  # leftover answer under a hidden question
])
def test_chained_condition(answers, shown):
    assert visible("ght", answers) is shown


@pytest.mark.parametrize("value, shown", [("Aucun", False), ("FIR", True), ("Autre", True), (None, True)])
def test_differs(value, shown):
    assert visible("financeur", {"financement": value}) is shown


@pytest.mark.parametrize("answers, shown", [
    ({"themes": ["Santé", "Autre"]}, True), ({"themes": ["Santé"]}, False), ({"themes": []}, False), ({}, False),
])
def test_contains_on_multichoice(answers, shown):
    assert visible("theme_autre", answers) is shown


@pytest.mark.parametrize("text, shown", [("Prévention des Risques PsychoSociaux", True), ("Formation", False),
                                         ("", False), (None, False)])
def test_contains_on_text_ignores_case(text, shown):
    assert visible("precision_rps", {"description": text}) is shown


@pytest.mark.parametrize("value, shown", [(True, True), (False, False), (None, False), ("oui", False)])
def test_checked(value, shown):
    assert visible("ght", {"statut": "Public", "membre_ght": value}) is shown


def test_sibling_conditions_inside_a_row():
    answers = {"actions": [{"type_action": "Autre", "cofinance": True},
                           {"type_action": "Formation", "cofinance": True}]}
    rows = answers["actions"]
    assert visible("actions.precision", answers, rows[0]) and not visible("actions.precision", answers, rows[1])
    # chained inside a row: cofinanceur needs cofinance, which is hidden for a Formation row
    assert visible("actions.cofinanceur", answers, rows[0])
    assert not visible("actions.cofinanceur", answers, rows[1])


def test_row_child_conditioned_on_a_field_outside_the_block():
    row = {"intitule": "A"}
    assert visible("actions.prestataire", {"externalise": True, "actions": [row]}, row)
    assert not visible("actions.prestataire", {"externalise": False, "actions": [row]}, row)


# --- completeness ------------------------------------------------------------------------------------

def paths(items):
    return {m.path for m in items}


def test_hidden_fields_are_not_required():
    answers = {"statut": "Privé", "financement": "Aucun", "accord": True,
               "actions": [{"intitule": "A", "cout": "1.00"}, {"intitule": "B", "cout": "2.00"}]}
    assert paths(missing_items(COND, answers)) == set()
    answers["statut"] = "Public"
    assert paths(missing_items(COND, answers)) == {"membre_ght"}
    answers["membre_ght"] = True
    assert paths(missing_items(COND, answers)) == {"ght"}


def test_unchecked_required_checkbox_is_missing():
    base = {"statut": "Privé", "financement": "Aucun",
            "actions": [{"intitule": "A", "cout": "1"}, {"intitule": "B", "cout": "2"}]}
    assert paths(missing_items(COND, {**base, "accord": False})) == {"accord"}
    assert paths(missing_items(COND, {**base, "accord": True})) == set()


def test_min_rows_and_per_row_required_children():
    base = {"statut": "Privé", "financement": "Aucun", "accord": True, "externalise": True}
    items = missing_items(COND, {**base, "actions": [{"intitule": "A", "type_action": "Autre"}]})
    assert paths(items) == {"actions", "actions.0.precision", "actions.0.prestataire", "actions.0.cout"}
    block = next(m for m in items if m.path == "actions")
    assert block.message == "au moins 2 lignes à remplir" and block.section_key == "actions"
    row_item = next(m for m in items if m.path == "actions.0.precision")
    assert row_item.label == "Actions n° 1 — Précision" and row_item.anchor == "champ-actions-0-precision"
    rows = [{"intitule": "A", "cout": "1", "prestataire": "P"}, {"intitule": "", "cout": "2", "prestataire": "Q"}]
    assert paths(missing_items(COND, {**base, "actions": rows})) == {"actions.1.intitule"}


def test_required_block_without_min_rows_needs_one_row():
    schema = parse_schema(one_section({"key": "b", "type": "repeat", "label": "B", "required": True,
                                       "fields": [AMOUNT]}))
    assert paths(missing_items(schema, {})) == {"b"}
    assert paths(missing_items(schema, {"b": [{"cout": "1"}]})) == set()


def test_pending_invalid_input_is_reported_for_visible_fields_only():
    base = {"statut": "Privé", "financement": "Aucun", "accord": True,
            "actions": [{"intitule": "A", "cout": "1"}, {"intitule": "B", "cout": "2"}]}
    items = missing_items(COND, base, {"actions.1.cout": "x", "ght": "??"})  # ght is hidden
    assert [(m.path, m.message) for m in items] == [("actions.1.cout", "valeur invalide à corriger")]


def test_strip_hidden_clears_values_of_hidden_fields():
    answers = {"statut": "Privé", "membre_ght": True, "ght": "GHT Normandie", "financement": "Aucun",
               "financeur": "Région", "externalise": False,
               "actions": [{"intitule": "A", "type_action": "Formation", "precision": "x", "cofinance": True,
                            "cofinanceur": "CNR", "prestataire": "P", "cout": "10.00"},
                           {"intitule": "B", "type_action": "Autre", "precision": "y", "cofinance": True,
                            "cofinanceur": "CNR", "cout": "5.00"}]}
    stripped = strip_hidden(COND, answers)
    assert "membre_ght" not in stripped and "ght" not in stripped and "financeur" not in stripped
    assert stripped["statut"] == "Privé" and stripped["externalise"] is False
    assert stripped["actions"] == [{"intitule": "A", "type_action": "Formation", "cout": "10.00"},
                                   {"intitule": "B", "type_action": "Autre", "precision": "y", "cofinance": True,
                                    "cofinanceur": "CNR", "cout": "5.00"}]
    assert answers["ght"] == "GHT Normandie"  # the draft's answers are not mutated


def random_row():
    return st.fixed_dictionaries({}, optional={
        "intitule": st.sampled_from(["", "Formation des cadres"]),
        "type_action": st.sampled_from(["Formation", "Équipement", "Autre", None]),
        "precision": st.sampled_from(["", "x"]),
        "cofinance": st.sampled_from([True, False, None]),
        "cofinanceur": st.sampled_from(["", "CNR"]),
        "prestataire": st.sampled_from(["", "P"]),
        "cout": st.sampled_from(["", "10.00", None]),
    })


random_answers = st.fixed_dictionaries({}, optional={
    "statut": st.sampled_from(["Public", "Privé", None]),
    "membre_ght": st.sampled_from([True, False, None]),
    "ght": st.sampled_from(["", "GHT"]),
    "financement": st.sampled_from(["Aucun", "FIR", "Autre", None]),
    "financeur": st.sampled_from(["", "ARS"]),
    "themes": st.lists(st.sampled_from(["Santé", "Management", "Autre"]), unique=True),
    "theme_autre": st.sampled_from(["", "x"]),
    "description": st.sampled_from(["", "risques psychosociaux", "autre"]),
    "precision_rps": st.sampled_from(["", "x"]),
    "accord": st.booleans(),
    "externalise": st.sampled_from([True, False, None]),
    "actions": st.lists(random_row(), max_size=4),
})
PENDABLE = ["ght", "financeur", "theme_autre", "membre_ght", "actions.0.cout", "actions.1.precision",
            "actions.0.cofinanceur", "actions.2.prestataire"]


def path_is_visible(answers, path):
    parts = path.split(".")
    if len(parts) == 1:
        return is_visible(COND, COND.field(path), answers)
    row = (answers.get(parts[0]) or [])[int(parts[1])]
    return is_visible(COND, COND.field(f"{parts[0]}.{parts[2]}"), answers, row)


@settings(max_examples=300, deadline=None)
@given(random_answers, st.lists(st.sampled_from(PENDABLE), unique=True))
def test_completeness_never_lists_a_hidden_field(answers, pending_paths):
    rows = len(answers.get("actions") or [])
    pending = {p: "invalide" for p in pending_paths
               if len(p.split(".")) == 1 or int(p.split(".")[1]) < rows}
    items = missing_items(COND, answers, pending)
    for item in items:
        assert path_is_visible(answers, item.path), item.path
    # stripping hidden values changes neither what is shown nor what is missing
    stripped = strip_hidden(COND, answers)
    assert paths(missing_items(COND, stripped, pending)) == paths(items)
    for f in COND.top_fields():
        if f.key in stripped and f.type != "repeat":
            assert is_visible(COND, f, answers)


# --- computed fields ---------------------------------------------------------------------------------

BUDGET = parse_schema(one_section(
    # placed before what it depends on: evaluation follows dependencies, not positions
    {"key": "reste", "type": "computed", "label": "Reste à charge", "expression": "total_cout - total_demande",
     "format": "amount"},
    {"key": "total_demande", "type": "computed", "label": "Total demandé", "expression": "sum(actions.demande)",
     "format": "amount"},
    {"key": "plafond", "type": "amount", "label": "Plafond"},
    {"key": "actions", "type": "repeat", "label": "Actions", "fields": [
        {"key": "cout", "type": "amount", "label": "Coût"},
        {"key": "agents", "type": "integer", "label": "Agents"},
        {"key": "demande", "type": "computed", "label": "Demandé", "expression": "min(brut, plafond)",
         "format": "amount"},
        {"key": "brut", "type": "computed", "label": "Brut", "expression": "round(cout * taux / 100, 2)",
         "format": "amount"},
        {"key": "par_agent", "type": "computed", "label": "Par agent", "expression": "cout / agents",
         "format": "amount"},
    ]},
    {"key": "total_cout", "type": "computed", "label": "Coût total", "expression": "sum(actions.cout)",
     "format": "amount"},
    {"key": "nb", "type": "computed", "label": "Nombre", "expression": "count(actions)", "format": "integer"},
    {"key": "part", "type": "computed", "label": "Part", "expression": "total_demande / total_cout * 100",
     "format": "percentage"},
))


def test_computed_order_follows_dependencies():
    order = [f.path for f in BUDGET.computed_order]
    for before, after in [("actions.brut", "actions.demande"), ("actions.demande", "total_demande"),
                          ("total_demande", "reste"), ("total_cout", "reste"), ("total_demande", "part")]:
        assert order.index(before) < order.index(after)


def test_computed_inside_rows_and_totals_across_rows():
    answers = compute(BUDGET, {"plafond": "20000.00", "actions": [
        {"cout": "1000.00", "agents": 3}, {"cout": "50000.00", "agents": 0}, {"cout": "0.05"}]}, Decimal("50"))
    assert [r["brut"] for r in answers["actions"]] == ["500.00", "25000.00", "0.03"]
    assert [r["demande"] for r in answers["actions"]] == ["500.00", "20000.00", "0.03"]
    assert [r["par_agent"] for r in answers["actions"]] == ["333.33", None, None]  # division by 0: empty
    assert answers["total_cout"] == "51000.05" and answers["total_demande"] == "20500.03"
    assert answers["reste"] == "30500.02" and answers["nb"] == "3"
    assert answers["part"] == "40.20"


def test_computed_without_rate_uses_zero_and_is_stable():
    first = compute(BUDGET, {"actions": [{"cout": "10"}]})
    assert first["actions"][0]["brut"] == "0.00"
    assert compute(BUDGET, first) == first


# --- the Django form ----------------------------------------------------------------------------------

EVERY_TYPE = parse_schema({"sections": [{"key": "tout", "title": "Tous les types", "fields": [
    {"key": "titre", "type": "heading", "label": "Un titre"},
    {"key": "aide", "type": "explanation", "label": "À savoir", "text": "Lisez la notice."},
    {"key": "nom", "type": "text", "label": "Nom", "required": True, "help": "Tel qu'au FINESS",
     "max_length": 80},
    {"key": "resume", "type": "textarea", "label": "Résumé"},
    {"key": "agents", "type": "integer", "label": "Nombre d'agents", "min": 0},
    {"key": "ratio", "type": "decimal", "label": "Ratio", "decimal_places": 3},
    {"key": "absenteisme", "type": "percentage", "label": "Absentéisme"},
    {"key": "cout", "type": "amount", "label": "Coût"},
    {"key": "date_cse", "type": "date", "label": "Date du CSE"},
    {"key": "membre_ght", "type": "yesno", "label": "Membre d'un GHT ?", "help": "Oui ou non"},
    {"key": "accord", "type": "checkbox", "label": "J'atteste", "required": True},
    {"key": "statut", "type": "choice", "label": "Statut", "options": ["Public", "Privé"]},
    {"key": "departement", "type": "choice", "label": "Département", "options": ["14", "50"], "widget": "select"},
    {"key": "themes", "type": "multichoice", "label": "Thèmes", "options": ["Santé", "Autre"]},
    {"key": "courriel", "type": "email", "label": "Courriel"},
    {"key": "telephone", "type": "phone", "label": "Téléphone"},
    {"key": "finess", "type": "finess", "label": "FINESS"},
    {"key": "siret", "type": "siret", "label": "SIRET"},
    {"key": "etablissement", "type": "establishment", "label": "Établissement"},
    {"key": "qvct", "type": "qvct_theme", "label": "Thèmes QVCT"},
    {"key": "qvct_un", "type": "qvct_theme", "label": "Thème principal", "multiple": False},
    {"key": "piece", "type": "file", "label": "Pièce", "allowed_types": ["pdf"]},
    {"key": "ght", "type": "text", "label": "GHT", "show_if": {"field": "membre_ght", "op": "checked"}},
    {"key": "actions", "type": "repeat", "label": "Actions", "row_label": "Action", "fields": [
        {"key": "intitule", "type": "text", "label": "Intitulé"},
        {"key": "type_action", "type": "choice", "label": "Type", "options": ["Formation", "Autre"]},
        {"key": "precision", "type": "text", "label": "Précision",
         "show_if": {"field": "type_action", "op": "equals", "value": "Autre"}},
        {"key": "cout", "type": "amount", "label": "Coût"},
        {"key": "obligatoire", "type": "checkbox", "label": "Obligatoire"},
        {"key": "devis", "type": "file", "label": "Devis"},
        {"key": "demande", "type": "computed", "label": "Demandé", "expression": "cout * taux / 100",
         "format": "amount"},
    ]},
    {"key": "total", "type": "computed", "label": "Total", "expression": "sum(actions.cout)", "format": "amount"},
]}]})
SECTION = EVERY_TYPE.sections[0]
CTX = FormContext(establishments=[("140000027", "CH de Lisieux (140000027)")], rate=Decimal(50))
STORED = {"nom": "CH", "membre_ght": True, "piece": {"attachment": 7, "name": "cse.pdf", "size": 1200},
          "actions": [{"intitule": "A", "type_action": "Autre", "cout": "10.00",
                       "devis": {"attachment": 8, "name": "devis.pdf", "size": 10}},
                      {"intitule": "B", "type_action": "Formation"}],
          "total": "10.00"}


class Markup(HTMLParser):
    """Collects what an accessibility check needs: controls, labels, fieldsets with legends, ids."""

    VOID = {"input", "br", "img", "hr", "meta", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.controls, self.labels, self.ids, self.refs = [], [], {}, [], []
        self.fieldsets = []  # each: {"legend": bool}
        self.label_text = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        for ref in ("aria-describedby", "aria-labelledby"):
            self.refs.extend((a.get("id") or tag, r) for r in (a.get(ref) or "").split())
        if tag == "fieldset":
            self.fieldsets.append({"legend": False})
        elif tag == "legend" and self.fieldsets:
            self.fieldsets[-1]["legend"] = True
        elif tag == "label":
            self.label_text = [a.get("for"), ""]
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit", "button"):
            self.controls.append({"tag": tag, "attrs": a, "in_fieldset_with_legend":
                                  any(fs["legend"] for fs in self.fieldsets)})
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "label" and self.label_text:
            self.labels[self.label_text[0]] = self.label_text[1].strip()
            self.label_text = None
        if tag == "fieldset" and self.fieldsets:
            self.fieldsets.pop()
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        if self.label_text is not None:
            self.label_text[1] += data


def render_entries(form, editable=True):
    dossier = SimpleNamespace(pk=42)
    return [render_to_string("formschema/entry.html", {"entry": e, "editable": editable, "dossier": dossier})
            for e in form.layout()]


@pytest.mark.parametrize("editable", [True, False])
def test_every_input_has_a_label_and_ids_are_consistent(editable):
    form = build_section_form(EVERY_TYPE, SECTION, STORED, {}, CTX)
    form.is_valid()
    entries = form.layout()
    html = render_entries(form, editable)
    page = Markup()
    seen_types = set()
    for entry, fragment in zip(entries, html, strict=True):
        seen_types.add(entry.field.type)
        single = Markup()
        single.feed(fragment)
        page.feed(fragment)
        for control in single.controls:
            ident = control["attrs"].get("id")
            assert ident, f"{entry.path}: {control} has no id"
            label = single.labels.get(ident)
            assert label or control["in_fieldset_with_legend"], f"{entry.path}: #{ident} has no label"
            if label is not None:
                assert label.strip(), f"{entry.path}: #{ident} has an empty label"
        if entry.field.is_input and editable and entry.field.type not in ("yesno", "choice", "multichoice",
                                                                          "qvct_theme"):
            assert single.labels.get(entry.html_id), f"{entry.path}: no label for #{entry.html_id}"
        for row in entry.rows or []:
            for child in row:
                if child.field.is_input and child.field.type not in ("choice",) and editable:
                    assert child.html_id in single.labels, child.path
    assert seen_types >= {"heading", "explanation", "text", "textarea", "integer", "decimal", "percentage",
                          "amount", "date", "yesno", "checkbox", "choice", "multichoice", "email", "phone",
                          "finess", "siret", "establishment", "qvct_theme", "file", "repeat", "computed"}
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates
    missing_refs = {(owner, ref) for owner, ref in page.refs if ref not in page.ids}
    assert not missing_refs
    if editable:
        assert len(page.controls) > 30


def test_fieldset_groups_have_a_legend_and_labelled_options():
    form = build_section_form(EVERY_TYPE, SECTION, STORED, {}, CTX)
    form.is_valid()
    by_key = {e.path: e for e in form.layout()}
    for key in ("membre_ght", "statut", "themes", "qvct"):
        page = Markup()
        page.feed(render_entries_for(by_key[key]))
        assert page.controls and all(c["in_fieldset_with_legend"] for c in page.controls), key
        assert all(page.labels.get(c["attrs"]["id"]) for c in page.controls), key


def render_entries_for(entry, editable=True):
    return render_to_string("formschema/entry.html", {"entry": entry, "editable": editable,
                                                      "dossier": SimpleNamespace(pk=42)})


def test_hidden_entries_are_rendered_hidden_with_their_condition():
    form = build_section_form(EVERY_TYPE, SECTION, {**STORED, "membre_ght": False}, {}, CTX)
    form.is_valid()
    entries = {e.path: e for e in form.layout()}
    html = render_entries_for(entries["ght"])
    assert " hidden" in html and "data-show-if" in html and "membre_ght" in html
    rows = entries["actions"].rows
    precision = [next(c for c in row if c.field.key == "precision") for row in rows]
    assert [p.visible for p in precision] == [True, False]
    assert precision[1].condition == {"name": "actions__1__type_action", "op": "equals", "value": "Autre"}


def test_stored_file_links_to_the_download_view():
    form = build_section_form(EVERY_TYPE, SECTION, STORED, {}, CTX)
    form.is_valid()
    piece = next(e for e in form.layout() if e.path == "piece")
    assert 'href="/dossiers/42/fichiers/7/"' in render_entries_for(piece)


def cycle(answers, pending, data):
    """What a save does: build from the post, validate, extract, merge."""
    form = build_section_form(EVERY_TYPE, SECTION, answers, pending, CTX, data=data)
    form.is_valid()
    values, new_pending, _ = form.extract()
    return merge_section(SECTION, answers, pending, values, new_pending, form.row_counts)


def test_pending_invalid_input_survives_build_extract_merge_cycles():
    data = MultiValueDict({"nom": ["CH de Lisieux"], "absenteisme": ["8,5 %x"], "cout": ["1" * 30],
                           "courriel": ["pas-une-adresse"], "themes": ["Santé", "Inconnu"],
                           "actions__rows": ["2"], "actions__0__intitule": ["A"], "actions__0__cout": ["12,345"],
                           "actions__1__intitule": ["B"], "actions__1__cout": ["2 500,50"]})
    answers, pending = cycle({}, {"autre_partie": "gardé"}, data)
    expected_pending = {"absenteisme": "8,5 %x", "cout": "1" * 30, "courriel": "pas-une-adresse",
                        "themes": ["Santé", "Inconnu"], "actions.0.cout": "12,345", "autre_partie": "gardé"}
    assert pending == expected_pending
    assert answers["nom"] == "CH de Lisieux" and answers["actions"][1]["cout"] == "2500.50"
    for _ in range(3):  # reopening the page and saving it unchanged keeps every raw input
        form = build_section_form(EVERY_TYPE, SECTION, answers, pending, CTX)
        assert not form.is_valid()
        assert set(form.errors) == {"absenteisme", "cout", "courriel", "themes", "actions__0__cout"}
        html = "".join(render_entries(form))
        assert 'value="8,5 %x"' in html and 'value="12,345"' in html and 'value="pas-une-adresse"' in html
        values, new_pending, _ = form.extract()
        answers, pending = merge_section(SECTION, answers, pending, values, new_pending, form.row_counts)
        assert pending == expected_pending
    fixed = MultiValueDict({"nom": ["CH de Lisieux"], "absenteisme": ["8,5"], "cout": ["100"],
                            "courriel": ["contact@ch-lisieux.fr"], "themes": ["Santé"], "actions__rows": ["2"],
                            "actions__0__intitule": ["A"], "actions__0__cout": ["12,35"],
                            "actions__1__intitule": ["B"], "actions__1__cout": ["2 500,50"]})
    answers, pending = cycle(answers, pending, fixed)
    assert pending == {"autre_partie": "gardé"}
    assert answers["absenteisme"] == "8.50" and answers["cout"] == "100.00" and answers["themes"] == ["Santé"]
    assert answers["actions"][0]["cout"] == "12.35"


def test_values_are_stored_as_json_types_not_floats():
    data = MultiValueDict({"agents": ["1 200"], "ratio": ["0,125"], "absenteisme": ["12,5 %"], "cout": ["1 200,5 €"],
                           "date_cse": ["15/03/2024"], "membre_ght": ["oui"], "accord": ["on"],
                           "statut": ["Public"], "telephone": ["03.20.00.00.00"], "qvct_un": ["sante_travail"],
                           "actions__rows": ["1"], "actions__0__cout": ["0,1"]})
    answers, pending = cycle({}, {}, data)
    assert pending == {}
    assert answers["agents"] == 1200 and answers["ratio"] == "0.125" and answers["absenteisme"] == "12.50"
    assert answers["cout"] == "1200.50" and answers["date_cse"] == "2024-03-15" and answers["membre_ght"] is True
    assert answers["accord"] is True and answers["telephone"] == "03 20 00 00 00"
    assert answers["actions"][0]["cout"] == "0.10"
    assert not any(isinstance(v, float) for v in answers.values())


def test_huge_number_is_an_error_at_its_field_not_a_crash():
    form = build_section_form(EVERY_TYPE, SECTION, {}, {}, CTX, data=MultiValueDict({"cout": ["9" * 40]}))
    assert not form.is_valid()
    assert "15 chiffres au plus" in form.errors["cout"][0]


def test_row_count_is_bounded_by_max_rows_and_min_rows():
    schema = parse_schema(one_section({"key": "b", "type": "repeat", "label": "B", "min_rows": 2, "max_rows": 3,
                                       "fields": [AMOUNT]}))
    section = schema.sections[0]
    assert build_section_form(schema, section, {}).row_counts == {"b": 2}
    posted = build_section_form(schema, section, {}, data=MultiValueDict({"b__rows": ["999"]}))
    assert posted.row_counts == {"b": 3}
    posted = build_section_form(schema, section, {}, data=MultiValueDict({"b__rows": ["abc"]}))
    assert posted.row_counts == {"b": 2}


@pytest.mark.django_db
def test_huge_number_typed_in_a_section_is_kept_as_pending_not_a_server_error(client):
    call = CallFactory(schema=one_section(AMOUNT, {"key": "moitie", "type": "computed", "label": "Moitié",
                                                   "expression": "cout * taux / 100", "format": "amount"}))
    dossier = DossierFactory(call=call)
    client.force_login(dossier.created_by)
    url = reverse("dossiers:section", args=[dossier.pk, "s"])
    assert client.post(url, {"cout": "9" * 30}).status_code == 302
    dossier.refresh_from_db()
    assert dossier.pending == {"cout": "9" * 30}
    assert "15 chiffres au plus" in client.get(url).content.decode()
    assert client.post(url, {"cout": "999 999 999 999 999,99"}).status_code == 302
    dossier.refresh_from_db()  # beyond what a money column holds: kept as typed, with the reason at the field
    assert dossier.pending == {"cout": "999 999 999 999 999,99"}
    assert "inférieure ou égale à 999\u202f999\u202f999\u202f999,99." in client.get(url).content.decode()
    assert client.post(url, {"cout": "999 999 999 999,99"}).status_code == 302
    dossier.refresh_from_db()
    assert dossier.answers["moitie"] == "500000000000.00" and dossier.pending == {}


def test_equals_compares_numbers_as_numbers():
    schema = parse_schema({"sections": [{"key": "s", "title": "S", "fields": [
        {"key": "autre", "type": "amount", "label": "Autre financement"},
        {"key": "pourquoi", "type": "text", "label": "Pourquoi aucun ?", "show_if": {"field": "autre", "op": "equals",
                                                                                   "value": 0}},
    ]}]})
    field = schema.field("pourquoi")
    assert is_visible(schema, field, {"autre": "0.00"})
    assert not is_visible(schema, field, {"autre": "10.00"})
    assert not is_visible(schema, field, {})


def test_a_yes_no_condition_needs_a_boolean_value():
    with pytest.raises(SchemaError) as error:
        parse_schema({"sections": [{"key": "s", "title": "S", "fields": [
            {"key": "ght", "type": "yesno", "label": "GHT ?"},
            {"key": "nom", "type": "text", "label": "Nom", "show_if": {"field": "ght", "op": "equals", "value": "oui"}},
        ]}]})
    assert any("true ou false" in m and "« nom »" in m for m in error.value.messages)


# --- bounds of every field type (issue 11, point 3) -------------------------------------------------

DATE = {"key": "debut", "type": "date", "label": "Date de début"}
NOTES = {"key": "notes", "type": "textarea", "label": "Notes"}


def _post_section(client, schema, data):
    dossier = DossierFactory(call=CallFactory(schema=schema))
    client.force_login(dossier.created_by)
    url = reverse("dossiers:section", args=[dossier.pk, "s"])
    assert client.post(url, data).status_code == 302
    dossier.refresh_from_db()
    return dossier, client.get(url).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "message"), [
    ("01/01/1900", "La date ne peut pas être antérieure au 01/01/2000 : vérifiez l&#x27;année."),
    ("0202-03-01", "La date ne peut pas être antérieure au 01/01/2000 : vérifiez l&#x27;année."),
    ("9999-12-31", "La date ne peut pas être postérieure au 31/12/"),
])
def test_a_date_out_of_the_default_range_is_kept_with_the_reason(client, typed, message):
    dossier, page = _post_section(client, one_section(DATE), {"debut": typed})
    assert dossier.pending == {"debut": typed} and "debut" not in dossier.answers
    assert message in page


def test_a_schema_may_widen_or_narrow_the_date_range():
    assert "« min » doit être une date au format AAAA-MM-JJ" in refusal(one_section({**DATE, "min": "hier"}))
    schema = parse_schema(one_section({**DATE, "min": "1950-01-01", "max": "2030-12-31"}))
    form = build_section_form(schema, schema.sections[0], {}, {}, FormContext(), MultiValueDict(
        {"debut": ["1960-05-01"]}))
    assert form.is_valid(), form.errors
    form = build_section_form(schema, schema.sections[0], {}, {}, FormContext(), MultiValueDict(
        {"debut": ["2031-01-01"]}))
    assert not form.is_valid() and "postérieure au 31/12/2030" in str(form.errors)


@pytest.mark.django_db
def test_a_textarea_of_a_megabyte_is_kept_as_pending_with_the_limit(client):
    dossier, page = _post_section(client, one_section(NOTES), {"notes": "x" * 1_000_000})
    assert "notes" not in dossier.answers
    assert "10000 caractères" in page or "10\u202f000 caractères" in page


@pytest.mark.django_db
def test_minus_zero_is_stored_and_shown_as_zero(client):
    dossier, page = _post_section(client, one_section(AMOUNT), {"cout": "-0"})
    assert dossier.answers["cout"] == "0.00" and dossier.pending == {}
    assert "-0" not in page.split('name="cout"')[1][:80]
