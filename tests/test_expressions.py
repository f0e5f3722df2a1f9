"""The expression language of computed fields and French money values: exact, half-up, never float."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from guichet.formschema.engine import compute
from guichet.formschema.expressions import ExpressionError, compile_expression, evaluate, round_half_up
from guichet.formschema.schema import parse_schema
from guichet.formschema.values import format_for_display, format_money, parse_decimal, to_decimal

CENT = Decimal("0.01")
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
signed_amounts = st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False,
                             allow_infinity=False)


def run(source: str, names: dict | None = None, columns: dict | None = None):
    """Evaluate an expression against plain values (Decimals), as the engine does."""
    names, columns = names or {}, columns or {}
    return evaluate(compile_expression(source),
                    lambda n: names.get(n, Decimal(0)),
                    lambda block, field: columns.get((block, field), []),
                    lambda block: len(columns.get((block, "*"), [])))


def half_up(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


BUDGET = parse_schema({"sections": [{"key": "budget", "title": "Budget", "fields": [
    {"key": "lignes", "type": "repeat", "label": "Lignes", "fields": [
        {"key": "intitule", "type": "text", "label": "Intitulé"},
        {"key": "cout", "type": "amount", "label": "Coût"},
        {"key": "demande", "type": "computed", "label": "Demande", "expression": "cout * taux / 100",
         "format": "amount"},
    ]},
    {"key": "total", "type": "computed", "label": "Total", "expression": "sum(lignes.cout)", "format": "amount"},
    {"key": "total_demande", "type": "computed", "label": "Total demandé",
     "expression": "sum(lignes.demande)", "format": "amount"},
    {"key": "nb", "type": "computed", "label": "Nombre", "expression": "count(lignes)", "format": "integer"},
    {"key": "moyenne", "type": "computed", "label": "Moyenne", "expression": "total / nb", "format": "amount"},
]}]})


# --- sums over rows -------------------------------------------------------------------------

@given(st.lists(amounts, max_size=40))
def test_sum_over_rows_is_the_exact_decimal_sum(values):
    assert run("sum(b.x)", columns={("b", "x"): values}) == sum(values, Decimal(0))
    answers = compute(BUDGET, {"lignes": [{"cout": str(v)} for v in values]}, Decimal(50))
    assert answers["total"] == str(half_up(sum(values, Decimal(0))))
    assert Decimal(answers["total"]) == sum(values, Decimal(0))  # already whole cents: nothing rounded away


def test_sum_of_cents_that_float_gets_wrong():
    values = [Decimal("0.10"), Decimal("0.20")] * 3
    answers = compute(BUDGET, {"lignes": [{"cout": str(v)} for v in values]}, Decimal(50))
    assert answers["total"] == "0.90" and answers["total_demande"] == "0.45"
    assert 0.1 + 0.2 + 0.1 + 0.2 + 0.1 + 0.2 != 0.9  # what a float engine would have summed


def test_sum_and_count_of_an_empty_block_are_zero_and_average_is_empty_not_a_crash():
    answers = compute(BUDGET, {}, Decimal(50))
    assert answers["total"] == "0.00" and answers["nb"] == "0"
    assert answers["moyenne"] is None  # 0 / 0: undefined, shown empty


def test_empty_or_invalid_cells_count_as_zero():
    answers = compute(BUDGET, {"lignes": [{"cout": None}, {}, {"cout": "x"}, {"cout": "12.50"}]}, Decimal(50))
    assert answers["total"] == "12.50" and answers["nb"] == "4" and answers["moyenne"] == "3.13"


# --- rounding ---------------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("round(0.125, 2)", "0.13"),
    ("round(2.675, 2)", "2.68"),  # float: round(2.675, 2) == 2.67
    ("round(1.005, 2)", "1.01"),
    ("round(2.5)", "3"),
    ("round(3.5)", "4"),  # half up, not banker's rounding
    ("round(0.5)", "1"),
    ("round(-2.5)", "-3"),  # half away from zero
    ("round(1.23456789, 6)", "1.234568"),
    ("round(1234.5, 0)", "1235"),
])
def test_round_is_half_up_in_decimal(source, expected):
    result = run(source)
    assert isinstance(result, Decimal) and str(result) == expected


def test_round_half_up_of_a_field_value():
    assert run("round(x, 2)", {"x": Decimal("2.675")}) == Decimal("2.68")
    assert round(2.675, 2) == 2.67  # the float trap the engine avoids
    assert round_half_up(Decimal("0.125"), 2) == Decimal("0.13")


@given(amounts)
def test_half_of_an_amount_is_exact_to_the_cent_half_up(cout):
    answers = compute(BUDGET, {"lignes": [{"cout": str(cout)}]}, Decimal(50))
    expected = (cout / 2).quantize(CENT, rounding=ROUND_HALF_UP)
    assert answers["lignes"][0]["demande"] == str(expected)
    assert format_money(Decimal(answers["lignes"][0]["demande"])) == format_money(expected)
    # every half cent goes up: 0.01 -> 0.01, 1.05 -> 0.53
    assert Decimal(answers["lignes"][0]["demande"]) - cout / 2 in (Decimal(0), Decimal("0.005"))


@pytest.mark.parametrize("cout, demande", [("0.01", "0.01"), ("1.05", "0.53"), ("0.03", "0.02"),
                                           ("12345.67", "6172.84"), ("999999999.99", "500000000.00")])
def test_half_examples(cout, demande):
    answers = compute(BUDGET, {"lignes": [{"cout": cout}]}, Decimal("50.00"))
    assert answers["lignes"][0]["demande"] == demande


def test_rate_of_the_call_is_available_as_taux():
    assert run("round(c * taux / 100, 2)", {"c": Decimal("1000"), "taux": Decimal("33.33")}) == Decimal("333.30")


# --- min, max, division, unary ------------------------------------------------------------------

@given(st.lists(signed_amounts, min_size=1, max_size=6))
def test_min_and_max(values):
    names = {f"v{i}": v for i, v in enumerate(values)}
    args = ", ".join(names)
    assert run(f"min({args})", names) == min(values)
    assert run(f"max({args})", names) == max(values)


def test_min_caps_the_request_at_the_ceiling():
    assert run("min(demande, plafond)", {"demande": Decimal("25000"), "plafond": Decimal("20000")}) == 20000
    assert run("max(0, a - b)", {"a": Decimal("1"), "b": Decimal("2")}) == 0


@pytest.mark.parametrize("source", ["a / 0", "a / b", "1 / (b - b)", "round(a / b, 2)", "min(1, a / b)",
                                    "0 / 0"])
def test_division_by_zero_is_empty_not_a_crash(source):
    assert run(source, {"a": Decimal("5"), "b": Decimal(0)}) is None


def test_unary_minus_and_parentheses():
    assert run("-(a - b) * 2", {"a": Decimal("1.5"), "b": Decimal("4")}) == Decimal("5.0")
    assert run("+a", {"a": Decimal("1.5")}) == Decimal("1.5")


def test_float_literals_become_exact_decimals():
    assert run("0.1 + 0.2") == Decimal("0.3")
    assert run("0.1 * 3") == Decimal("0.3")


# --- no float ever -----------------------------------------------------------------------------

NAMES = ["a", "b", "c"]


def expressions():
    leaves = st.one_of(st.sampled_from(NAMES),
                       st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False).map(str),
                       st.integers(0, 100).map(str))

    def extend(children):
        return st.one_of(
            st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: f"min({', '.join(xs)})"),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: f"max({', '.join(xs)})"),
            st.tuples(children, st.integers(0, 6)).map(lambda t: f"round({t[0]}, {t[1]})"),
            children.map(lambda x: f"-{x}"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(expressions(), st.fixed_dictionaries({n: amounts for n in NAMES}))
def test_random_expressions_give_a_decimal_or_none_never_a_float(source, values):
    result = run(source, values)
    assert result is None or type(result) is Decimal


@settings(max_examples=100, deadline=None)
@given(expressions(), st.sampled_from(["amount", "percentage", "decimal", "integer"]),
       st.fixed_dictionaries({n: amounts for n in NAMES}), st.sampled_from([None, Decimal("50.00")]))
def test_computed_answers_are_strings_or_empty_never_floats(source, fmt, values, rate):
    schema = parse_schema({"sections": [{"key": "s", "title": "S", "fields": [
        *({"key": n, "type": "amount", "label": n} for n in NAMES),
        {"key": "r", "type": "computed", "label": "R", "expression": source, "format": fmt},
    ]}]})
    answers = compute(schema, {n: str(v) for n, v in values.items()}, rate)
    assert answers["r"] is None or type(answers["r"]) is str
    if answers["r"] is not None:
        Decimal(answers["r"])  # a plain decimal string
        assert "E" not in answers["r"]


@pytest.mark.parametrize("source", ["a * b * c * a * b * c * a * b", "1e300 * a", "1e999", "a / 0.000000001 * b"])
def test_huge_results_are_empty_rather_than_a_server_error(source):
    schema = parse_schema({"sections": [{"key": "s", "title": "S", "fields": [
        *({"key": n, "type": "amount", "label": n} for n in NAMES),
        {"key": "r", "type": "computed", "label": "R", "expression": source, "format": "amount"},
    ]}]})
    values = {n: "999999999.99" for n in NAMES}
    answers = compute(schema, values, Decimal(50))
    assert answers["r"] is None


def test_results_of_budget_are_all_strings():
    answers = compute(BUDGET, {"lignes": [{"cout": "1000.00"}, {"cout": "333.33"}]}, Decimal(50))
    assert answers["total"] == "1333.33" and answers["total_demande"] == "666.67"
    assert answers["moyenne"] == "666.67" and answers["nb"] == "2"
    for row in answers["lignes"]:
        assert all(v is None or isinstance(v, str) for v in row.values())


# --- what the language refuses ------------------------------------------------------------------

@pytest.mark.parametrize("source, message", [
    ("a.b", "n'est pas permis"),
    ("x.__class__", "n'est pas permis"),
    ("__import__('os')", "fonction inconnue « __import__ »"),
    ("open('/etc/passwd')", "fonction inconnue « open »"),
    ("abs(a)", "fonction inconnue « abs »"),
    ("a.b(1)", "fonction inconnue"),
    ("lambda: 1", "n'est pas permis"),
    ("[x for x in a]", "n'est pas permis"),
    ("(x for x in a)", "n'est pas permis"),
    ("'texte'", "n'est pas un nombre"),
    ("'a' + 'b'", "n'est pas un nombre"),
    ("True", "n'est pas un nombre"),
    ("None", "n'est pas un nombre"),
    ("a < b", "n'est pas permis"),
    ("a == b", "n'est pas permis"),
    ("a and b", "n'est pas permis"),
    ("not a", "seules les opérations"),
    ("a ** 2", "seules les opérations"),
    ("a // 2", "seules les opérations"),
    ("a % 2", "seules les opérations"),
    ("a << 2", "seules les opérations"),
    ("~a", "seules les opérations"),
    ("round(a, ndigits=2)", "ne prend pas d'argument nommé"),
    ("min(a, key=b)", "ne prend pas d'argument nommé"),
    ("round(a, 2.5)", "n entier entre 0 et 6"),
    ("round(a, b)", "n entier entre 0 et 6"),
    ("round(a, 7)", "n entier entre 0 et 6"),
    ("round(a, -1)", "n entier entre 0 et 6"),
    ("round(a, True)", "n entier entre 0 et 6"),
    ("round(a, 2, 3)", "round(x) ou round(x, n)"),
    ("sum(a)", "sum(bloc.champ)"),
    ("sum(a.b.c)", "sum(bloc.champ)"),
    ("sum(a.b, c.d)", "sum(bloc.champ)"),
    ("count(a.b)", "count(bloc)"),
    ("min()", "demande au moins un argument"),
    ("a if b else c", "n'est pas permis"),
    ("a[0]", "n'est pas permis"),
    ("(a, b)", "n'est pas permis"),
    ("{1: 2}", "n'est pas permis"),
    ("f'{a}'", "n'est pas permis"),
    ("(a := 1)", "n'est pas permis"),
    ("1j", "n'est pas un nombre"),
    ("a; b", "mal formée"),
    ("import os", "mal formée"),
    ("a +", "mal formée"),
    ("", "vide"),
    ("   ", "vide"),
    ("a + " * 200 + "a", "dépasse 500 caractères"),
])
def test_unsafe_or_unknown_constructs_are_refused_in_french(source, message):
    with pytest.raises(ExpressionError) as exc_info:
        compile_expression(source)
    assert message in str(exc_info.value)


def test_non_string_expression_is_refused():
    with pytest.raises(ExpressionError, match="vide"):
        compile_expression(None)
    with pytest.raises(ExpressionError, match="vide"):
        compile_expression(42)


def test_names_and_blocks_are_collected():
    expr = compile_expression("round(min(a, b) * taux / 100, 2) + sum(actions.cout) / count(actions)")
    assert expr.names == {"a", "b", "taux"}
    assert expr.block_fields == {("actions", "cout")}
    assert expr.blocks == {"actions"}


# --- French numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("1 200,50 €", "1200.50"),
    ("1200.50", "1200.50"),
    ("12,5 %", "12.5"),
    ("12,5%", "12.5"),
    ("1\u202f200,50\u00a0€", "1200.50"),
    ("1\u00a0000\u00a0000", "1000000"),
    (" 0 ", "0"),
    ("-3,5", "-3.5"),
    ("+7", "7"),
    (",5", "0.5"),
    ("5,", "5"),
    (12, "12"),
    (Decimal("1.10"), "1.10"),
])
def test_parse_decimal_accepts_french_input(raw, expected):
    result = parse_decimal(raw)
    assert isinstance(result, Decimal) and str(result) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "€", " % ", "\u202f"])
def test_parse_decimal_empty_is_none(raw):
    assert parse_decimal(raw) is None


@pytest.mark.parametrize("raw", ["1,2,3", "1.2.3", "1,2.3", "abc", "1e5", "1E5", "1e-2", "Infinity", "inf", "NaN",
                                 "0x10", "1_000", "12-3", "--1", "1 200,50 $", "un", "12,5 %%x", ".", ",",
                                 "1" * 16, "9" * 40])
def test_parse_decimal_rejects_what_is_not_a_plain_number(raw):
    with pytest.raises(ValidationError) as exc_info:
        parse_decimal(raw)
    assert "Saisissez un nombre" in " ".join(exc_info.value.messages)


def test_fifteen_digit_amounts_are_still_accepted():
    assert parse_decimal("999 999 999 999 999,99") == Decimal("999999999999999.99")
    assert parse_decimal("000000000000000000001") == Decimal(1)  # leading zeros are not digits that count


def test_to_decimal_counts_empty_or_invalid_as_zero():
    assert to_decimal(None) == 0 and to_decimal("") == 0 and to_decimal("abc") == 0
    assert to_decimal("1 200,5") == Decimal("1200.5")


@given(signed_amounts)
def test_money_round_trip_french_format_then_parse(value):
    text = format_money(value)
    assert text.endswith(" €") and "." not in text
    assert parse_decimal(text) == value


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False, allow_infinity=False))
def test_decimal_and_percentage_round_trip(value):
    schema = parse_schema({"sections": [{"key": "s", "title": "S", "fields": [
        {"key": "d", "type": "decimal", "label": "D", "decimal_places": 6},
        {"key": "p", "type": "percentage", "label": "P"},
    ]}]})
    shown = format_for_display(schema.field("d"), str(value))
    assert parse_decimal(shown) == value
    shown = format_for_display(schema.field("p"), str(value))
    assert shown.endswith(" %") and parse_decimal(shown) == value


def test_money_display_examples():
    assert format_money(Decimal("12500")) == "12\u202f500,00 €"
    assert format_money(Decimal("0.125")) == "0,13 €"
    assert format_money(Decimal("-1234567.5")) == "-1\u202f234\u202f567,50 €"
    assert format_money(Decimal("0")) == "0,00 €"
