"""The API against its own OpenAPI schema (/api/v1/openapi.json), fuzzed by schemathesis.

Every operation of the schema is called with generated requests — the examples, the boundary and invalid values
of each parameter (schemathesis's coverage phase) and random valid ones (a bounded, reproducible fuzzing phase) —
with a read-write bearer token of an ARS instructor, on a region holding a call and filed dossiers. Each answer
must be no server error, a status the schema documents for the operation, with the documented content type and
a body that matches the documented schema. A failure names the request to replay.

The whole file runs in about a minute on two cores: 30 random examples per operation, no deadline, derandomized.
"""

import collections
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guichet.api.models import issue_token
from guichet.commission import arbitration
from guichet.funding import payments
from guichet.reporting import jobs
from guichet.wsgi import application
from tests.factories import CallFactory, InstructorFactory, region
from tests.test_api_commission import action, in_instruction, new_session
from tests.test_payment_pages import WINDOWS, build_example, validate_all
from tests.test_payments import issued

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 30

# Requests made per operation, reported at the end of the module (run with -s to see the figures).
REQUESTS = collections.Counter()
STATUSES = collections.Counter()


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
def known(db):
    """A Hauts-de-France region with one of everything the API shows, and a read-write token of its instructor.

    An application call with dossiers in instruction on a commission session's agenda, and a proofs call with
    seed 001's worked example (grants, invoices validated, a payment order): ``ids`` gives, per path parameter,
    the values that exist, so that half the requests reach a real object (200) and not only a 404.
    """
    instructor = InstructorFactory(email="instructeur.hdf@ars.sante.fr", region=region("32"))
    application = CallFactory(slug="clact-hdf-2024", envelope=Decimal("10000.00"), cofinancing_rate=Decimal("50.00"))
    dossiers = [in_instruction(application, [action("Formation des managers", 3000, 1500)]) for _ in range(3)]
    session = new_session(application, instructor)
    arbitration.add_to_agenda(session, dossiers, instructor)
    proofs = CallFactory(kind="proofs", year=2024, envelope=None, payment_windows=WINDOWS,
                         covered_years=[2020, 2021, 2022, 2023, 2024], slug="justificatifs-hdf-2024")
    example = build_example(proofs, instructor)
    validate_all(example)
    order = issued(payments.create_order(proofs, 0, instructor))
    token = issue_token(instructor, "Contrat d'API", write=True)[1]
    ready = jobs.create(instructor, "grants", "csv")
    jobs.run(ready.pk)  # written at once (the task after commit never runs inside the test's transaction)
    pending = jobs.create(instructor, "workspace", "xlsx", call=application, parameters={"onglet": ["tous"]})
    return {"token": token, "ids": {
        "slug": [application.slug, proofs.slug],
        "region": [instructor.region.slug],
        "number": [d.number for d in dossiers] + [example[k].number for k in "abc"],
        "session_id": [session.pk],
        "grant_id": [example[k].pk for k in ("g1", "g2", "g3")],
        "line_id": [line.pk for line in example["lines"].values()],
        "order_id": [order.pk],
        "job_id": [ready.pk, pending.pk],
    }}


def aim_at_known_objects(case, ids, count):
    """Every other request of an operation, its path parameters replaced by objects that exist."""
    if count % 2 or not case.path_parameters:
        return
    for name, value in case.path_parameters.items():
        if name in ids and isinstance(value, int if name.endswith("_id") else str):
            case.path_parameters[name] = ids[name][count // 2 % len(ids[name])]


# The schema as the application serves it (loaded once, when the tests are collected).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_operation_honours_its_schema(case, known):
    REQUESTS[case.operation.label] += 1
    aim_at_known_objects(case, known["ids"], REQUESTS[case.operation.label])
    response = case.call_and_validate(headers={"Authorization": f"Bearer {known['token']}"}, checks=CHECKS)
    STATUSES[response.status_code] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_figures():
    yield
    if REQUESTS:
        print(f"\nschemathesis: {len(REQUESTS)} opérations, {sum(REQUESTS.values())} requêtes, "
              f"statuts : {dict(sorted(STATUSES.items()))}")
