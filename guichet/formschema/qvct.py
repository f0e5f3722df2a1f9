"""The HAS QVCT compass (boussole QVCT): six themes and their sub-themes, as listed in seed 003.

The list is configurable: a deployment may set ``GUICHET_QVCT_THEMES`` in settings to the same
structure. Codes are stable identifiers stored in answers; labels are what people read.
"""

from django.conf import settings

DEFAULT_THEMES = [
    ("contenu_travail", "Contenu du travail", [
        ("autonomie", "Autonomie"),
        ("sens_travail", "Sens du travail"),
        ("relation_patients", "Relation avec les patients / résidents"),
        ("qualite_soins", "Qualité des soins"),
        ("travail_equipe", "Travail en équipe"),
    ]),
    ("sante_travail", "Santé au travail", [
        ("organisation_temps", "Organisation du temps de travail"),
        ("environnement_physique", "Environnement physique"),
        ("qualite_prevention", "Qualité de la prévention"),
    ]),
    ("employabilite", "Employabilité et développement professionnel", [
        ("formation_insertion", "Formation, insertion"),
        ("parcours_competences", "Parcours et compétences"),
        ("flexibilite_securite", "Flexibilité et sécurité"),
        ("emplois_atypiques", "Emplois atypiques"),
    ]),
    ("performance_management", "Performance et management", [
        ("critere_qualite", "Critère de qualité"),
        ("engagement_participatif", "Engagement participatif"),
        ("interessement", "Intéressement"),
        ("performance_productive", "Performance productive"),
    ]),
    ("relations_climat", "Relations de travail et climat social", [
        ("discussion_travail", "Discussion sur le travail"),
        ("dialogue_social", "Dialogue social"),
        ("relations_collegues", "Relations avec les collègues"),
        ("relations_managers", "Relations avec les managers"),
        ("equite", "Équité, justice organisationnelle"),
    ]),
    ("egalite_chances", "Égalité des chances", [
        ("equilibre_vie", "Équilibre vie privée, vie professionnelle"),
        ("diversite", "Diversité et non discrimination"),
        ("egalite_professionnelle", "Égalité professionnelle"),
        ("conciliation", "Conciliation"),
    ]),
]


def themes():
    return getattr(settings, "GUICHET_QVCT_THEMES", DEFAULT_THEMES)


# The options are built once per list of themes (a form of 50 actions asks 50 times); keyed by the list's
# identity, so that a deployment's or a test's own ``GUICHET_QVCT_THEMES`` gets its own options.
_built: dict[str, tuple[object, object]] = {}


def _cached(kind: str, build):
    current = themes()
    kept = _built.get(kind)
    if kept is None or kept[0] is not current:
        kept = _built[kind] = (current, build(current))
    return kept[1]


def _choices(current) -> tuple[tuple[str, str], ...]:
    result = []
    for code, label, subs in current:
        result.append((code, label))
        result.extend((f"{code}/{sub}", f"{label} — {sub_label}") for sub, sub_label in subs)
    return tuple(result)


def choices() -> list[tuple[str, str]]:
    """Flat (code, label) pairs: each theme, then its sub-themes as ``theme/sub``."""
    return list(_cached("flat", _choices))


def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Choices grouped by theme, for a select with optgroups."""
    return [(group, list(options)) for group, options in _cached("grouped", lambda current: tuple(
        (label, tuple([(code, f"{label} (ensemble)")] + [(f"{code}/{sub}", sl) for sub, sl in subs]))
        for code, label, subs in current))]


def label(code: str) -> str:
    return _cached("labels", lambda current: dict(_choices(current))).get(code, code)


def theme_of(code: str) -> str:
    return code.split("/", 1)[0]
