"""French counts for user messages: « 1 ligne », « 8 éléments », never « ligne(s) ».

French puts 0 and 1 in the singular (« 0 dossier traité »), unlike Django's ``pluralize`` and the English
rule of ``ngettext`` without a catalogue; so messages built in Python use :func:`count`.
"""


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """The word agreeing with ``n``: ``plural(2, "ligne rejetée", "lignes rejetées")``; without
    ``plural_form`` an « s » is added to each word (« ligne rejetée » → « lignes rejetées »)."""
    if abs(n) < 2:
        return singular
    return plural_form if plural_form is not None else " ".join(w + "s" for w in singular.split(" "))


def count(n: int, singular: str, plural_form: str | None = None) -> str:
    """« 1 ligne à remplir », « 8 éléments à compléter »: the number then the agreeing words. Words that do
    not take an « s » (« à », « mis à jour ») need ``plural_form``."""
    return f"{n} {plural(n, singular, plural_form)}"
