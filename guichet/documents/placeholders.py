"""The documented context of each kind of document: the placeholders a template may use.

One table shared by the body validation (``render.validate_body``), the admin help shown next to
the body and ``docs/documents.md``. Names are dotted paths; ``[]`` marks the items of a list, used
in a loop: ``actions[].cout`` is ``{{ action.cout }}`` inside ``{% for action in actions %}``.

The context given to a template holds only plain data (dicts, lists, str, Decimal, date), never
model instances: a template cannot reach the database or call methods with side effects.
"""

from .models import DocumentKind

_ACTION = [
    ("intitule", "intitulé de l'action"),
    ("etablissements", "établissements concernés par l'action (texte)"),
    ("cout", "coût total de l'action (Decimal, €)"),
    ("cout_eligible", "coût éligible de l'action (Decimal, €)"),
    ("demande", "montant demandé pour l'action (Decimal, €)"),
    ("accorde", "montant accordé pour l'action (Decimal, €)"),
    ("plafond", "plafond de l'aide pour l'action, fixé par la convention (Decimal, €)"),
]


def _items(prefix: str, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(f"{prefix}.{name}", description) for name, description in fields]


# Every letter, the convention and the avenant share these names.
_LETTER = [
    ("region", "nom de la région de l'ARS (ex. Normandie)"),
    ("etablissement", "l'établissement (ET) porteur du dossier"),
    ("etablissement.nom", "raison sociale de l'établissement"),
    ("etablissement.finess", "FINESS géographique de l'établissement"),
    ("etablissement.siret", "SIRET de l'établissement"),
    ("etablissement.adresse", "adresse postale (numéro et voie)"),
    ("etablissement.commune", "code postal et commune"),
    ("entite_juridique", "l'entité juridique (EJ) gestionnaire"),
    ("entite_juridique.nom", "raison sociale de l'entité juridique"),
    ("entite_juridique.finess", "FINESS juridique"),
    ("entite_juridique.siren", "SIREN de l'entité juridique"),
    ("appel", "l'appel à projets"),
    ("appel.titre", "titre de l'appel à projets"),
    ("appel.annee", "année de l'appel à projets"),
    ("dossier", "le dossier"),
    ("dossier.numero", "numéro du dossier"),
    ("dossier.depose_le", "date de dépôt du dossier (date)"),
    ("actions", "liste des actions du dossier"),
    *_items("actions[]", _ACTION),
    ("total_demande", "montant total demandé (Decimal, €)"),
    ("total_accorde", "montant total accordé (Decimal, €)"),
    ("taux", "taux de cofinancement en pourcentage (Decimal, ex. 50)"),
    ("decision", "la décision"),
    ("decision.date", "date de la décision (date)"),
    ("decision.motivation", "motivation de la décision (texte, plusieurs lignes possibles)"),
    ("convention", "la convention de financement"),
    ("convention.reference", "référence de la convention"),
    ("convention.debut", "date de début de la convention (date)"),
    ("convention.fin", "date de fin de la convention (date)"),
    ("signataire", "la personne qui signe pour l'ARS"),
    ("signataire.nom", "nom du signataire"),
    ("signataire.qualite", "qualité du signataire (ex. Directeur général de l'ARS Normandie)"),
    ("date_du_jour", "date du jour (date)"),
]

_AVENANT = [
    ("avenant", "l'avenant"),
    ("avenant.numero", "numéro de l'avenant"),
    ("cpom", "le contrat pluriannuel d'objectifs et de moyens (CPOM) que l'avenant modifie"),
    ("cpom.reference", "référence du CPOM"),
    ("cpom.signe_le", "date de signature du CPOM (date)"),
]

_DOSSIER_LINE = [
    ("numero", "numéro du dossier"),
    ("etablissement", "raison sociale de l'établissement porteur"),
    ("finess", "FINESS géographique de l'établissement porteur"),
    ("score", "note du dossier sur 20 (Decimal, vide si non noté)"),
    ("demande", "montant demandé (Decimal, €)"),
    ("propose", "montant proposé par l'instruction (Decimal, €)"),
    ("accorde", "montant accordé par la commission (Decimal, €)"),
    ("decision", "décision (libellé, ex. Accepté)"),
    ("motivation", "motivation de la décision (texte)"),
]

_PROCES_VERBAL = [
    ("region", "nom de la région de l'ARS"),
    ("appel", "l'appel à projets"),
    ("appel.titre", "titre de l'appel à projets"),
    ("appel.annee", "année de l'appel à projets"),
    ("seance", "la séance de la commission"),
    ("seance.titre", "intitulé de la séance"),
    ("seance.date", "date de la séance (date)"),
    ("seance.lieu", "lieu de la séance"),
    ("membres", "liste des membres présents"),
    ("membres[].nom", "nom du membre"),
    ("membres[].qualite", "qualité du membre"),
    ("dossiers", "liste des dossiers examinés"),
    *_items("dossiers[]", _DOSSIER_LINE),
    ("dossiers[].actions", "liste des actions du dossier"),
    *_items("dossiers[].actions[]", _ACTION),
    ("enveloppe", "enveloppe de l'appel (Decimal, €)"),
    ("engage", "montant déjà engagé, cette séance comprise (Decimal, €)"),
    ("reste", "reste disponible sur l'enveloppe (Decimal, €)"),
    ("total_accorde", "total accordé lors de cette séance (Decimal, €)"),
    ("date_du_jour", "date du jour (date)"),
]

PLACEHOLDERS: dict[str, list[tuple[str, str]]] = {
    DocumentKind.LETTRE_ACCEPTATION: _LETTER,
    DocumentKind.LETTRE_REFUS: _LETTER,
    DocumentKind.LETTRE_SANS_SUITE: _LETTER,
    DocumentKind.CONVENTION: _LETTER,
    DocumentKind.AVENANT: [*_LETTER, *_AVENANT],
    DocumentKind.PROCES_VERBAL: _PROCES_VERBAL,
}

# Filters offered besides Django's defaults (documented in the admin help and docs/documents.md).
FILTERS = [
    ("euros", "{{ total_accorde|euros }}", "montant en euros : 12 345,67 € (— si vide)"),
    ("date_fr", "{{ decision.date|date_fr }}", "date en toutes lettres : 22 novembre 2026"),
    ("pourcent", "{{ taux|pourcent }}", "pourcentage : 50 %"),
    ("nombre", "{{ dossier.score|nombre }}", "nombre : 16,5 (|nombre:2 pour deux décimales : 16,50)"),
    ("sans_article", "{{ signataire.qualite|sans_article }}",
     "sans l'article initial : « La directrice générale » → « directrice générale » (après un nom)"),
]


# The loop variable the help and docs use for the items of each list.
LOOP_VARIABLES = {"actions": "action", "membres": "membre", "dossiers": "dossier"}


def is_list(kind: str, name: str) -> bool:
    return any(other.startswith(f"{name}[]") for other, _ in PLACEHOLDERS[kind])


def is_group(kind: str, name: str) -> bool:
    """A dict (``etablissement``): its fields are listed after it."""
    return any(other.startswith(f"{name}.") for other, _ in PLACEHOLDERS[kind]) and not is_list(kind, name)


def expression(name: str) -> str:
    """How a template writes ``name``: ``dossiers[].actions[].cout`` → ``action.cout`` (inside the loops)."""
    pieces = name.split("[]")
    if len(pieces) == 1:
        return name
    loop_list = pieces[-2].split(".")[-1]
    return LOOP_VARIABLES.get(loop_list, loop_list) + pieces[-1]


def example(kind: str, name: str) -> str:
    """``{{ etablissement.nom }}``, or ``{% for action in actions %}`` for a list."""
    if is_list(kind, name):
        last = name.split(".")[-1].replace("[]", "")
        return f"{{% for {LOOP_VARIABLES.get(last, last)} in {expression(name)} %}}"
    return f"{{{{ {expression(name)} }}}}"


def names(kind: str | None = None) -> set[str]:
    """The documented paths of ``kind`` (of every kind when None)."""
    kinds = [kind] if kind else list(PLACEHOLDERS)
    return {name for k in kinds for name, _ in PLACEHOLDERS[k]}


def summary(kind: str | None = None) -> str:
    """A compact French list of the documented names: ``region, etablissement (nom, finess, …), …``."""
    kinds = [kind] if kind else list(PLACEHOLDERS)
    tree: dict[str, dict] = {}
    for k in kinds:
        for name, _ in PLACEHOLDERS[k]:
            node = tree
            for part in name.replace("[]", "").split("."):
                node = node.setdefault(part, {})

    def show(node: dict) -> str:
        return ", ".join(f"{key} ({show(child)})" if child else key for key, child in node.items())

    return show(tree)
