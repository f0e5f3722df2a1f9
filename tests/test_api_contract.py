"""The API against its own OpenAPI schema (/api/v1/openapi.json), fuzzed by schemathesis.

Every operation of the schema is called with generated requests — the examples, the boundary and invalid values
of each parameter (schemathesis's coverage phase) and random valid ones (a bounded, reproducible fuzzing phase) —
with a read-write bearer token of an ARS instructor, on a region holding a call and filed dossiers. Each answer
must be no server error, a status the schema documents for the operation, with the documented content type and
a body that matches the documented schema. A failure names the request to replay.

The whole file runs in about a minute on two cores: 20 random examples per operation, no deadline, derandomized.
"""

import collections

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guichet.api.models import issue_token
from guichet.dossiers.models import Dossier, State
from guichet.wsgi import application
from tests.factories import CallFactory, DossierFactory, EstablishmentFactory, InstructorFactory, region

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 20

# Requests made per operation, reported at the end of the module (run with -s to see the figures).
REQUESTS = collections.Counter()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: a request must not close the test's database connection (the API is called
    in process, through WSGI, inside the test's transaction)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def ars_token(db):
    """A read-write token of a Hauts-de-France instructor, whose region has a call with filed dossiers."""
    call = CallFactory(slug="clact-hdf-2024", region=region("32"))
    for n in range(3):
        dossier = DossierFactory(call=call, establishment=EstablishmentFactory(region=region("32")))
        Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION, number=f"2024-32-{n + 1:05d}",
                                                     first_filed_at=timezone.now(), last_filed_at=timezone.now())
    return issue_token(InstructorFactory(region=region("32")), "Contrat d'API", write=True)[1]


# The schema as the application serves it (loaded once, when the tests are collected).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_operation_honours_its_schema(case, ars_token):
    REQUESTS[case.operation.label] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {ars_token}"}, checks=CHECKS)


@pytest.fixture(scope="module", autouse=True)
def _report_figures():
    yield
    if REQUESTS:
        print(f"\nschemathesis: {len(REQUESTS)} opérations, {sum(REQUESTS.values())} requêtes")
