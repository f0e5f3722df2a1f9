"""The |pluriel filter: French puts 0 and 1 in the singular (« 0 facture », « 1 facture », « 2 factures »)."""

import pytest
from django.template import Context, Template


@pytest.mark.parametrize("value, expected", [
    (0, "0 facture reçue"), (1, "1 facture reçue"), (2, "2 factures reçues"), (-1, "-1 facture reçue"),
    (1.5, "1,5 facture reçue"), ([1, 2, 3], "[1, 2, 3] factures reçues"), ([], "[] facture reçue"),
    ("abc", "abc facture reçue"),
])
def test_pluriel_follows_the_french_rule(value, expected):
    rendered = Template('{{ n }} facture{{ n|pluriel }} reçue{{ n|pluriel }}').render(Context({"n": value}))
    assert rendered == expected


def test_documents_know_pluriel_too():
    from guichet.documents.render import ENGINE

    body = "{{ n }} action{{ n|pluriel }}"
    assert [ENGINE.from_string(body).render(Context({"n": n})) for n in (0, 1, 2)] == [
        "0 action", "1 action", "2 actions"]


def test_pluriel_with_two_forms_and_no_load_tag():
    template = Template('{{ n }} {{ n|pluriel:"son,leur" }} / {{ n|pluriel:"a,b,c" }}.')
    assert template.render(Context({"n": 0})) == "0 son / ."
    assert template.render(Context({"n": 3})) == "3 leur / ."
