"""Who is paid: the SIREN and SIRET of a grant's beneficiary, as the finance service needs them on a
payment order.

The directory is the first source (the establishment's SIRET, its legal entity's SIREN), but it does not
always know them: a SAE row may carry only a SIREN, an establishment entered by hand may have no SIRET,
a grant imported or decided may have no legal entity of its own. The beneficiary then gave them in its
dossier (the application's « N° SIRET », required, and the proofs dossier's), and a SIREN is by
definition the first nine digits of the SIRET. One rule, used by the payment exports, pages and API.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from guichet.establishments.identifiers import validate_siren, validate_siret


@dataclass(frozen=True)
class PayeeIds:
    siren: str
    siret: str


def _valid(validator, value) -> str:
    try:
        return validator(value) if value else ""
    except ValidationError:
        return ""


def _answered(dossier, prefill: str, field_type: str | None = None) -> str:
    """The answer of ``dossier``'s top-level field prefilled from ``prefill`` (or, failing that, of its
    first field of ``field_type``)."""
    if dossier is None or not dossier.answers:
        return ""
    fields = list(dossier.form_version.parsed().top_fields())
    chosen = next((f for f in fields if f.prefill == prefill), None)
    if chosen is None and field_type:
        chosen = next((f for f in fields if f.type == field_type), None)
    value = dossier.answers.get(chosen.key) if chosen is not None else None
    return value if isinstance(value, str) else ""


def payee_ids(grant, dossiers=()) -> PayeeIds:
    """The beneficiary's SIREN and SIRET: the directory's, else those the beneficiary gave in the grant's
    dossier or in ``dossiers`` (its proofs dossiers; only those it filed itself, for another site of the
    legal entity has its own SIRET). Empty strings when nobody knows them."""
    beneficiary = grant.beneficiary
    entity = grant.legal_entity or beneficiary.legal_entity
    own = [d for d in (grant.dossier, *dossiers) if d is not None and d.establishment_id == beneficiary.pk]
    siret = beneficiary.siret  # the directory's were checked when imported or typed
    for dossier in own:
        if siret:
            break
        siret = _valid(validate_siret, _answered(dossier, "establishment.siret", "siret"))
    siren = entity.siren if entity else ""
    for dossier in own:
        if siren:
            break
        siren = _valid(validate_siren, _answered(dossier, "legal_entity.siren"))
    return PayeeIds(siren=siren or siret[:9], siret=siret)
