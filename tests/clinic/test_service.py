"""Service layer: ownership, audit, atomic sessions, validation messages."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ConflictError, NotFoundError, ParameterError, PermissionDeniedError

DAY = dt.date(2026, 11, 2)


def _events(db, client_id):
    return db.scalars(select(AuditEvent).where(AuditEvent.client_id == client_id).order_by(AuditEvent.id)).all()


def test_create_and_get_client(db_session, therapist):
    client = service.create_client(db_session, actor=therapist, code="A-17", birth_year=1948,
                                   conditions=["Dementia", "dementia"], safety_flags=["hearing_loss", "seizures"])
    got = service.get_client_by_code(db_session, actor=therapist, code="A-17")
    assert got.id == client.id
    assert got.conditions == ["dementia"]
    assert got.safety_flags == ["hearing_loss", "seizures"]


def test_duplicate_code_per_therapist_conflicts_but_other_therapist_may_reuse(db_session, therapist, make_therapist):
    service.create_client(db_session, actor=therapist, code="X1")
    with pytest.raises(ConflictError, match="X1"):
        service.create_client(db_session, actor=therapist, code="X1")
    other = make_therapist("other")
    assert service.create_client(db_session, actor=other, code="X1").therapist_id == other.id


def test_other_therapists_client_is_not_found(db_session, client_record, make_therapist):
    other = make_therapist("other")
    with pytest.raises(NotFoundError, match="not found"):
        service.get_client(db_session, actor=other, client_id=client_record.id)
    with pytest.raises(NotFoundError):
        service.get_client_by_code(db_session, actor=other, code="C001")
    with pytest.raises(NotFoundError):
        service.record_session(db_session, actor=other, client_id=client_record.id, session_date=DAY,
                               minutes=30, intervention_code="singing")
    assert service.list_clients(db_session, actor=other) == []


def test_admin_reads_no_clinical_data_but_manages_accounts(db_session, client_record, make_therapist):
    admin = make_therapist("boss", role="admin")
    with pytest.raises(NotFoundError):
        service.get_client(db_session, actor=admin, client_id=client_record.id)
    service.set_therapist_active(db_session, actor=admin, username="therapist1", active=False)
    therapist = service.get_therapist_by_username(db_session, "therapist1")
    with pytest.raises(PermissionDeniedError, match="disabled"):
        service.list_clients(db_session, actor=therapist)
    assert any(e.entity == "client" for e in service.list_audit_events(db_session, actor=admin))


def test_therapist_cannot_create_accounts(db_session, therapist):
    with pytest.raises(PermissionDeniedError, match="admin"):
        service.create_therapist(db_session, actor=therapist, username="new", password="long enough password")


def test_weak_password_is_rejected(db_session):
    with pytest.raises(ParameterError, match="password"):
        service.create_therapist(db_session, actor=None, username="weak", password="short")


def test_every_read_and_write_is_audited(db_session, therapist, client_record):
    before = len(_events(db_session, client_record.id))
    service.get_client(db_session, actor=therapist, client_id=client_record.id)
    service.list_sessions(db_session, actor=therapist, client_id=client_record.id)
    service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=45,
                           intervention_code="ras_gait_training",
                           measurements=[MeasurementInput("cadence", value=104.0)])
    events = _events(db_session, client_record.id)[before:]
    actions = [(e.action, e.entity) for e in events]
    assert ("read", "client") in actions
    assert ("create", "therapy_session") in actions
    assert ("create", "measurement") in actions
    assert all(e.actor_username == "therapist1" and e.at.tzinfo is not None for e in events)


def test_session_with_measurements_is_stored_whole(db_session, therapist, client_record):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="gait_speed",
                               baseline=0.8, target=1.0, target_date=dt.date(2027, 1, 31))
    row = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=45,
        intervention_code="ras_gait_training", setting="clinic", subjective="feels steadier",
        objective="10 m walk in 11.2 s", assessment="improving", plan="raise cue tempo 5 %",
        measurements=[MeasurementInput("gait_speed", value=0.89, goal_id=goal.id),
                      MeasurementInput("phq9", items=[0, 1, 0, 1, 0, 0, 0, 0, 1])],
    )
    stored = service.get_session(db_session, actor=therapist, session_id=row.id)
    assert [m.instrument_code for m in stored.measurements] == ["gait_speed", "phq9"]
    phq = stored.measurements[1]
    assert (phq.value, phq.severity_band, phq.safety_followup) == (3.0, "minimal", True)
    assert stored.soap_plan == "raise cue tempo 5 %"


def test_invalid_measurement_stores_nothing(db_session, therapist, client_record):
    sessions = service.count_rows(db_session, TherapySession)
    measurements = service.count_rows(db_session, Measurement)
    with pytest.raises(ParameterError, match=r"measurements\[1\].*q3"):
        service.record_session(
            db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=30,
            intervention_code="singing",
            measurements=[MeasurementInput("vas_anxiety", value=40), MeasurementInput("phq9", items={
                "q1": 0, "q2": 0, "q3": 7, "q4": 0, "q5": 0, "q6": 0, "q7": 0, "q8": 0, "q9": 0})],
        )
    assert service.count_rows(db_session, TherapySession) == sessions
    assert service.count_rows(db_session, Measurement) == measurements


def test_database_error_midway_rolls_back_the_whole_session(db_session, therapist, client_record, monkeypatch):
    sessions = service.count_rows(db_session, TherapySession)
    real = service._new_measurement
    calls = []

    def failing(row, entry, score):
        calls.append(entry)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(row, entry, score)

    monkeypatch.setattr(service, "_new_measurement", failing)
    with pytest.raises(RuntimeError):
        service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=30,
                               intervention_code="singing",
                               measurements=[MeasurementInput("vas_anxiety", value=40),
                                             MeasurementInput("vas_anxiety", value=30)])
    assert service.count_rows(db_session, TherapySession) == sessions
    assert service.count_rows(db_session, Measurement) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": 30.5}, "minutes"),
        ({"intervention_code": "karaoke"}, "intervention_code"),
        ({"session_date": "2026-11-02"}, "session_date"),
        ({"setting": 5}, "setting"),
    ],
)
def test_session_field_errors_name_the_field(db_session, therapist, client_record, kwargs, field):
    args = {"session_date": DAY, "minutes": 30, "intervention_code": "singing"} | kwargs
    with pytest.raises(ParameterError, match=field):
        service.record_session(db_session, actor=therapist, client_id=client_record.id, **args)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "Jane Doe"}, "code"),
        ({"code": ""}, "code"),
        ({"birth_year": 1850}, "birth_year"),
        ({"safety_flags": ["epilepsy"]}, "epilepsy"),
        ({"conditions": "dementia"}, "conditions"),
    ],
)
def test_client_field_errors_name_the_field(db_session, therapist, kwargs, field):
    with pytest.raises(ParameterError, match=field):
        service.create_client(db_session, actor=therapist, **({"code": "OK1"} | kwargs))


def test_update_client_changes_only_given_fields(db_session, therapist, client_record):
    service.update_client(db_session, actor=therapist, client_id=client_record.id, safety_flags=["trauma_history"])
    client = service.get_client(db_session, actor=therapist, client_id=client_record.id)
    assert client.safety_flags == ["trauma_history"]
    assert client.birth_year == 1950
    assert client.updated_at >= client.created_at


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"instrument_code": "bogus"}, "bogus"),
        ({"baseline": 150.0}, "baseline"),
        ({"target": 70.0}, "target"),
        ({"instrument_code": "cadence", "baseline": 90.0, "target": 100.0}, "direction"),
        ({"target_date": "soon"}, "target_date"),
    ],
)
def test_goal_errors_name_the_field(db_session, therapist, client_record, kwargs, field):
    args = {"instrument_code": "vas_anxiety", "baseline": 60.0, "target": 30.0} | kwargs
    with pytest.raises(ParameterError, match=field):
        service.create_goal(db_session, actor=therapist, client_id=client_record.id, **args)


def test_goal_direction_defaults_to_the_instrument(db_session, therapist, client_record):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id,
                               instrument_code="stai6", baseline=55.0, target=40.0)
    assert goal.direction == "decrease"


def test_measurement_must_match_its_goal(db_session, therapist, client_record):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id,
                               instrument_code="vas_anxiety", baseline=60.0, target=30.0)
    with pytest.raises(ParameterError, match="goal"):
        service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY,
                               minutes=30, intervention_code="receptive_listening",
                               measurements=[MeasurementInput("nrs_pain", value=3, goal_id=goal.id)])


def test_add_measurement_later_and_list_in_session_order(db_session, therapist, client_record):
    late = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                  session_date=dt.date(2026, 11, 9), minutes=30, intervention_code="ras_gait_training")
    early = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                   session_date=dt.date(2026, 11, 2), minutes=30, intervention_code="ras_gait_training")
    service.add_measurement(db_session, actor=therapist, session_id=late.id,
                            measurement=MeasurementInput("cadence", value=110.0))
    service.add_measurement(db_session, actor=therapist, session_id=early.id,
                            measurement=MeasurementInput("cadence", value=101.0))
    values = [m.value for m in service.list_measurements(db_session, actor=therapist, client_id=client_record.id,
                                                         instrument_code="cadence")]
    assert values == [101.0, 110.0]


def test_assessment_round_trip(db_session, therapist, client_record):
    service.create_assessment(db_session, actor=therapist, client_id=client_record.id, domain="motor",
                              assessed_date=DAY, notes="shuffling gait", scores={"tug_s": 14.2, "falls_6mo": 2})
    [assessment] = service.list_assessments(db_session, actor=therapist, client_id=client_record.id)
    assert assessment.scores == {"tug_s": 14.2, "falls_6mo": 2}
    with pytest.raises(ParameterError, match="domain"):
        service.create_assessment(db_session, actor=therapist, client_id=client_record.id, domain="spiritual",
                                  assessed_date=DAY)


def test_goals_sessions_and_measurements_of_others_are_not_found(db_session, therapist, client_record, make_therapist):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="cadence",
                               baseline=90.0, target=100.0, direction="increase")
    row = service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY,
                                 minutes=30, intervention_code="ras_gait_training")
    other = make_therapist("other")
    with pytest.raises(NotFoundError, match="goal"):
        service.get_goal(db_session, actor=other, goal_id=goal.id)
    with pytest.raises(NotFoundError, match="session"):
        service.get_session(db_session, actor=other, session_id=row.id)
    with pytest.raises(NotFoundError, match="session"):
        service.add_measurement(db_session, actor=other, session_id=row.id,
                                measurement=MeasurementInput("cadence", value=95.0))
    with pytest.raises(NotFoundError):
        service.list_measurements(db_session, actor=other, client_id=client_record.id)
    with pytest.raises(NotFoundError):
        service.update_client(db_session, actor=other, client_id=client_record.id, birth_year=1960)
    # the other therapist's own client cannot be linked to this goal either
    theirs = service.create_client(db_session, actor=other, code="T1")
    with pytest.raises(ParameterError, match="goal_id"):
        service.record_session(db_session, actor=other, client_id=theirs.id, session_date=DAY, minutes=30,
                               intervention_code="ras_gait_training",
                               measurements=[MeasurementInput("cadence", value=95.0, goal_id=goal.id)])


def test_therapist_reads_only_their_clients_audit_trail(db_session, therapist, client_record):
    with pytest.raises(ParameterError, match="client_id"):
        service.list_audit_events(db_session, actor=therapist)
    events = service.list_audit_events(db_session, actor=therapist, client_id=client_record.id)
    assert {e.client_id for e in events} == {client_record.id}


def test_measured_at_must_be_utc_aware(db_session, therapist, client_record):
    with pytest.raises(ParameterError, match="measured_at"):
        service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=30,
                               intervention_code="singing",
                               measurements=[MeasurementInput("vas_anxiety", value=10,
                                                              measured_at=dt.datetime(2026, 11, 2, 10, 0))])
    when = dt.datetime(2026, 11, 2, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    row = service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY,
                                 minutes=30, intervention_code="singing",
                                 measurements=[MeasurementInput("vas_anxiety", value=10, measured_at=when)])
    db_session.expire_all()
    stored = service.get_session(db_session, actor=therapist, session_id=row.id).measurements[0].measured_at
    assert stored == when and stored.utcoffset() == dt.timedelta(0)


def test_password_is_hashed_with_argon2(db_session, therapist):
    from cadenza.clinic.passwords import verify_password

    assert therapist.password_hash.startswith("$argon2id$")
    assert verify_password(therapist.password_hash, "correct horse battery")
    assert not verify_password(therapist.password_hash, "wrong horse battery")


def test_update_goal_session_and_assessment(db_session, therapist, client_record, make_therapist):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="vas_anxiety",
                               baseline=70.0, target=40.0)
    service.update_goal(db_session, actor=therapist, goal_id=goal.id, target=30.0, description="calmer at night")
    assert (goal.target, goal.description, goal.baseline) == (30.0, "calmer at night", 70.0)
    with pytest.raises(ParameterError, match="below baseline"):
        service.update_goal(db_session, actor=therapist, goal_id=goal.id, target=80.0)

    row = service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY,
                                 minutes=30, intervention_code="singing", plan="more songs")
    service.update_session(db_session, actor=therapist, session_id=row.id, expected_version=1, minutes=40,
                           plan="fewer songs")
    assert (row.minutes, row.soap_plan, row.soap_subjective) == (40, "fewer songs", "")
    with pytest.raises(ParameterError, match="minutes"):
        service.update_session(db_session, actor=therapist, session_id=row.id, expected_version=2, minutes=-5)

    assessment = service.create_assessment(db_session, actor=therapist, client_id=client_record.id, domain="social",
                                           assessed_date=DAY, notes="withdrawn")
    service.update_assessment(db_session, actor=therapist, assessment_id=assessment.id, scores={"turns_taken": 4})
    assert (assessment.notes, assessment.scores) == ("withdrawn", {"turns_taken": 4})

    other = make_therapist("other")
    for call, kwargs in ((service.update_goal, {"goal_id": goal.id, "description": "x"}),
                         (service.update_session, {"session_id": row.id, "expected_version": 2, "plan": "x"}),
                         (service.update_assessment, {"assessment_id": assessment.id, "notes": "x"})):
        with pytest.raises(NotFoundError):
            call(db_session, actor=other, **kwargs)
    updates = {(e.action, e.entity) for e in service.list_audit_events(db_session, actor=therapist,
                                                                      client_id=client_record.id)}
    assert {("update", "goal"), ("update", "therapy_session"), ("update", "assessment")} <= updates


def test_last_active_admin_cannot_be_disabled(db_session, make_therapist):
    boss = make_therapist("boss", role="admin")
    with pytest.raises(ConflictError, match="last active admin"):
        service.set_therapist_active(db_session, actor=None, username="boss", active=False)
    deputy = make_therapist("deputy", role="admin")
    assert not service.set_therapist_active(db_session, actor=deputy, username="boss", active=False).active
    with pytest.raises(ConflictError, match="last active admin"):
        service.set_therapist_active(db_session, actor=None, username="deputy", active=False)
    assert boss.active is False


def test_an_admin_cannot_disable_themself(db_session, make_therapist):
    boss = make_therapist("boss", role="admin")
    make_therapist("deputy", role="admin")
    with pytest.raises(ParameterError, match="own account"):
        service.set_therapist_active(db_session, actor=boss, username="boss", active=False)
    assert boss.active


def test_disabling_an_account_ends_its_sessions_and_tokens(db_session, make_therapist, therapist):
    from cadenza.clinic import auth

    admin = make_therapist("boss", role="admin")
    token, row = auth.create_api_token(db_session, therapist_id=therapist.id)
    assert auth.resolve_api_token(db_session, token) == therapist
    assert service.set_therapist_active is auth.set_therapist_active  # one function, one rule
    service.set_therapist_active(db_session, actor=admin, username=therapist.username, active=False)
    assert row.revoked_at is not None and auth.resolve_api_token(db_session, token) is None


# --- clinical review W15: name-like client codes are warned about ------------------------------------


@pytest.mark.parametrize(("code", "why"), [
    ("JohnSmith1950", "a name ('John', 'Smith') and a year of birth ('1950')"),
    ("smith_j", "a name ('smith')"), ("MARY-01", "a name ('MARY')"), ("C19500312", "a date of birth ('19500312')"),
])
def test_w15_name_like_codes_are_warned_about(code, why):
    (warning,) = service.client_code_warnings(code)
    assert why in warning and "identifies no one" in warning


@pytest.mark.parametrize("code", ["C001", "PD-017", "RVW-002", "X1", "A-17", "MT01", "W2-IMP-0"])
def test_w15_plain_pseudonyms_pass_quietly(code):
    assert service.client_code_warnings(code) == []


def test_w15_the_service_still_stores_a_warned_code(db_session, therapist):
    # A warning, not a refusal: the therapist decides (the pages ask for a confirmation first).
    assert service.create_client(db_session, actor=therapist, code="JohnSmith1950").code == "JohnSmith1950"


# --- clinical review W16: integer instruments take integer goals --------------------------------------


@pytest.mark.parametrize(("code", "baseline", "target", "bad"), [
    ("nrs_pain", 6, 2.5, "target"), ("nrs_pain", 6.5, 2, "baseline"), ("phq9", 14, 9.5, "target"),
    ("gad7", 12.2, 5, "baseline"),
])
def test_w16_integer_instruments_take_integer_goals(db_session, therapist, client_record, code, baseline, target, bad):
    with pytest.raises(ParameterError, match=f"{bad} must be a whole number"):
        service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code=code,
                            baseline=baseline, target=target)
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code=code,
                               baseline=round(baseline), target=round(target) - 1)
    with pytest.raises(ParameterError, match="target must be a whole number"):
        service.update_goal(db_session, actor=therapist, goal_id=goal.id, target=1.5)
    # Non-integer instruments keep decimal targets.
    assert service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="stai6",
                               baseline=55, target=42.5).target == 42.5


def test_the_latest_sessions_are_the_newest_few_oldest_first(db_session, therapist, client_record):
    """A tool page lists the last 10 sessions: read as 10 rows, not all of them (a five-year record)."""
    days = [dt.date(2026, 1, d) for d in (5, 3, 9, 1, 7)]
    for day in days:
        service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=day, minutes=30,
                               intervention_code="ras_gait_training")
    latest = service.client_sessions(db_session, client=client_record, latest=3)
    assert [s.session_date.day for s in latest] == [5, 7, 9]
    everything = service.client_sessions(db_session, client=client_record)
    assert [s.id for s in everything[-3:]] == [s.id for s in latest]
    for bad in (0, -1, 1001, True, 2.5):
        with pytest.raises(ParameterError, match="latest"):
            service.client_sessions(db_session, client=client_record, latest=bad)
