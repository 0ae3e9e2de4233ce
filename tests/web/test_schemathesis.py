"""Property-based API tests generated from the OpenAPI schema (reliability anchors T17).

In-process (ASGI), authenticated as a therapist with a seeded client, goal and session. For every
operation: schema-valid requests aimed at the therapist's real records (to reach the services) and
at arbitrary ids, plus schema-violating requests; none may produce a 5xx, and valid requests must
get responses that conform to the schema.
"""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from cadenza.clinic import auth, service
from cadenza.clinic.service import MeasurementInput

EXAMPLES_PER_OPERATION = 8


@pytest.fixture
def seeded(db_session, make_therapist):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001", safety_flags=["seizures"])
    goal = service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="vas_anxiety",
                               baseline=60, target=30)
    row = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 20),
                                 minutes=30, intervention_code="receptive_listening",
                                 measurements=[MeasurementInput("vas_anxiety", value=45, goal_id=goal.id)])
    db_session.commit()
    return {"client_id": client.id, "goal_id": goal.id, "session_id": row.id, "username": "ann"}


def _run(operation, strategy, headers, *, validate: bool) -> None:
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        response = case.call(headers=headers)
        assert response.status_code < 500, (operation.label, case.path_parameters, case.body, response.text[:300])
        if validate and response.status_code < 400:
            operation.validate_response(response)

    check()


@pytest.mark.slow
def test_no_server_errors_anywhere_in_the_api(web_app, seeded, api_token_for, make_therapist, db_session):
    # Schema-violating input is refused by validation before any query, so it runs on one backend.
    negative = db_session.bind.dialect.name == "sqlite"
    root = make_therapist("root", role="admin")
    therapist_headers = api_token_for(seeded["username"])
    enrolment = auth.start_mfa_enrolment(db_session, actor=root)  # administrators must use two-factor login
    auth.confirm_mfa_enrolment(db_session, actor=root, code=pyotp.TOTP(enrolment.secret).now())
    admin_headers = {"Authorization": f"Bearer {auth.create_api_token(db_session, therapist_id=root.id)[0]}"}
    db_session.commit()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    own_ids = {k: seeded[k] for k in ("client_id", "goal_id", "session_id")}
    for operation in operations:
        headers = admin_headers if "admin" in (operation.tags or []) else therapist_headers
        names = {p.name for p in operation.iter_parameters() if p.location == "path"}
        if names and names <= set(own_ids):
            path_parameters = {name: own_ids[name] for name in names}
            _run(operation, operation.as_strategy(path_parameters=path_parameters), headers, validate=True)
        _run(operation, operation.as_strategy(), headers, validate=True)
        if not negative:
            continue
        try:
            _run(operation, operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), headers, validate=False)
        except Unsatisfiable:
            pass  # nothing to violate: the operation takes no parameters or body
