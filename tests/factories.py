"""factory-boy factories for the domain models, shared by every test module."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.utils import timezone

from guichet.accounts.models import Role, User
from guichet.calls.models import Call, CallKind, FormVersion
from guichet.dossiers.models import Dossier
from guichet.establishments.models import Establishment, LegalEntity, Region

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "motdepasse-de-test-2024"

# Real FINESS numbers (EJ, ET) from the SAE 2023 extract in ../shared/data/.
REAL_ETS = [
    # (finess ET, finess EJ, name, siret, department, region code)
    ("140000027", "140000035", "CENTRE HOSPITALIER DE LISIEUX", "26140091500011", "14", "28"),
    ("140000076", "140000092", "CENTRE HOSPITALIER AUNAY-BAYEUX", "26140092300015", "14", "28"),
    ("140000209", "140000100", "CHU COTE DE NACRE - CAEN", "26140093100018", "14", "28"),
]


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"utilisateur{n}@exemple.fr")
    role = Role.APPLICANT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class InstructorFactory(UserFactory):
    role = Role.INSTRUCTOR
    region = factory.LazyFunction(lambda: region("32"))


class ArsAdminFactory(UserFactory):
    role = Role.ADMIN
    region = factory.LazyFunction(lambda: region("32"))


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalEntity
        django_get_or_create = ("finess",)

    finess = "140000035"
    siren = "261400915"
    name = "CENTRE HOSPITALIER DE LISIEUX"
    legal_status = "public"


class EstablishmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Establishment
        django_get_or_create = ("finess",)

    finess = "140000027"
    legal_entity = factory.SubFactory(LegalEntityFactory)
    siret = "26140091500011"
    name = "CENTRE HOSPITALIER DE LISIEUX"
    category_code = "355"
    category = "Centre hospitalier"
    sector = "sanitaire"
    legal_status = "public"
    department = "14"
    # Placed in the default call's region (Hauts-de-France), although Lisieux is in Normandie: a call accepts
    # only the establishments implanted in its region (seed 000), and most tests start a dossier on the
    # default call. Tests about the region rule give the region explicitly.
    region = factory.LazyFunction(lambda: region("32"))


def minimal_schema():
    return {
        "sections": [
            {
                "key": "identification",
                "title": "Identification",
                "fields": [
                    {"key": "nom_projet", "type": "text", "label": "Nom du projet", "required": True},
                    {"key": "cout", "type": "amount", "label": "Coût total", "required": True},
                ],
            }
        ]
    }


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call
        skip_postgeneration_save = True

    region = factory.LazyFunction(lambda: region("32"))
    year = 2024
    kind = CallKind.APPLICATION
    title = factory.Sequence(lambda n: f"Appel à projets CLACT-QVCT n° {n}")
    slug = factory.Sequence(lambda n: f"appel-{n}")
    notice = "Notice de l'appel."
    opens_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    closes_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))
    eligible_kinds = factory.LazyFunction(list)
    envelope = Decimal("1000000.00")
    cofinancing_rate = Decimal("50.00")

    @factory.post_generation
    def schema(obj, create, extracted, **kwargs):
        if create:
            FormVersion.objects.create(call=obj, number=1, schema=extracted or minimal_schema())


class DossierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dossier
        skip_postgeneration_save = True

    call = factory.SubFactory(CallFactory)
    form_version = factory.LazyAttribute(lambda o: o.call.current_form)
    establishment = factory.SubFactory(EstablishmentFactory)
    created_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def _members(obj, create, extracted, **kwargs):
        if create:
            obj.members.add(obj.created_by)
