"""Response schemas of the API (pydantic, through django-ninja).

Conventions: money and rates are decimal strings (``"1000000.00"``), never floats; date-times are
ISO 8601 with their offset, in Europe/Paris time; enumerations are the stored codes.
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from ninja import Schema
from pydantic import Field

from guichet.api.errors import ErrorOut, ValidationErrorOut  # noqa: F401  (the error schemas, for the routers)
from guichet.calls.models import CallKind
from guichet.dossiers.models import State
from guichet.establishments.models import Sector


def decimal_string(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def paris_time(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else timezone.localtime(value)


class CallOut(Schema):
    id: int
    slug: str
    title: str
    year: int
    kind: CallKind
    region: str = Field(description="Code INSEE de la région (ARS).", examples=["32"])
    opens_at: dt.datetime
    closes_at: dt.datetime = Field(
        description="Instant de clôture, exclu : un dépôt à cet instant ou après est refusé. Une date limite "
                    "donnée comme un jour est le minuit (heure de Paris) qui suit ce jour.")
    last_day: dt.date = Field(description="Dernier jour de dépôt (heure de Paris), inclus.",
                              examples=["2024-07-31"])
    deadline: str = Field(description="La date limite telle qu'une personne la lit.",
                          examples=["jusqu'au 31 juillet 2024 inclus (heure de Paris)"])
    envelope: str | None = Field(description="Enveloppe en euros, chaîne décimale.", examples=["1000000.00"])
    cofinancing_rate: str = Field(description="Taux de cofinancement en %, chaîne décimale.", examples=["50.00"])

    @staticmethod
    def resolve_region(obj) -> str:
        return obj.region.code

    @staticmethod
    def resolve_opens_at(obj):
        return paris_time(obj.opens_at)

    @staticmethod
    def resolve_closes_at(obj):
        return paris_time(obj.closes_at)

    @staticmethod
    def resolve_last_day(obj):
        return obj.deadline.last_day

    @staticmethod
    def resolve_deadline(obj):
        return obj.deadline.until_paris

    @staticmethod
    def resolve_envelope(obj):
        return decimal_string(obj.envelope)

    @staticmethod
    def resolve_cofinancing_rate(obj):
        return decimal_string(obj.cofinancing_rate)


class EstablishmentOut(Schema):
    finess: str = Field(description="FINESS géographique (ET).")
    name: str
    siret: str
    sector: Sector
    department: str


class DossierSummaryOut(Schema):
    id: int
    number: str | None
    state: State
    call: str = Field(description="Identifiant d'adresse (slug) de l'appel.")
    establishment: EstablishmentOut = Field(description="Établissement porteur.")
    partners: list[EstablishmentOut] = Field(description="Établissements parties prenantes.")
    form_version: int = Field(description="Numéro de la version du formulaire sur laquelle le dossier est rempli.")
    created_at: dt.datetime
    first_filed_at: dt.datetime | None
    last_filed_at: dt.datetime | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_call(obj) -> str:
        return obj.call.slug

    @staticmethod
    def resolve_partners(obj):
        return list(obj.partners.all())

    @staticmethod
    def resolve_form_version(obj) -> int:
        return obj.form_version.number

    @staticmethod
    def resolve_created_at(obj):
        return paris_time(obj.created_at)

    @staticmethod
    def resolve_first_filed_at(obj):
        return paris_time(obj.first_filed_at)

    @staticmethod
    def resolve_last_filed_at(obj):
        return paris_time(obj.last_filed_at)

    @staticmethod
    def resolve_updated_at(obj):
        return paris_time(obj.updated_at)


class AwaitedDocumentOut(Schema):
    label: str
    part: int | None = Field(description="Partie du formulaire où la pièce est demandée.")
    since: dt.datetime
    received_at: dt.datetime | None = Field(description="Reçue par la messagerie le… ; null tant qu'elle est attendue.")

    @staticmethod
    def resolve_since(obj):
        return paris_time(obj.since)

    @staticmethod
    def resolve_received_at(obj):
        return paris_time(obj.received_at)


class DossierOut(DossierSummaryOut):
    answers: dict = Field(description="Réponses au formulaire, indexées par clé de champ (voir form_version).")
    awaited_documents: list[AwaitedDocumentOut] = Field(
        description="Pièces qui peuvent arriver après le dépôt (avis du CSE…), reçues ou encore attendues.")

    @staticmethod
    def resolve_awaited_documents(obj):
        return list(obj.awaited_documents.all())


class DossierPage(Schema):
    items: list[DossierSummaryOut]
    next_cursor: str | None = Field(
        description="À passer en ?cursor= pour obtenir la page suivante ; null sur la dernière page."
    )
