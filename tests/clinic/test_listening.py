"""The record core's listener (flags, audio policy, calibration, resolved once), calibrations and the
weekly dose ledger (SQLite and PostgreSQL)."""

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, select

from cadenza.clinic import listening, service
from cadenza.clinic.models import AuditEvent, Base
from cadenza.errors import NotFoundError, ParameterError
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
LISTENING_TABLES = {"listening_calibration", "sound_dose_entry"}


def test_migration_matches_models(db_engine):
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    mine = [d for d in diffs if any(t in repr(d) for t in LISTENING_TABLES)]
    assert mine == []


def _client_events(db_session, client_id: int) -> int:
    return db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.client_id == client_id))


def test_listener_is_resolved_with_one_audited_read(db_session, therapist):
    """Flags, the policy they impose and the latest calibration, from one authorisation (one audit row)."""
    client = service.create_client(db_session, actor=therapist, code="L001", safety_flags=["hearing_loss"])
    listening.record_calibration(db_session, actor=therapist, client_id=client.id, measured_level_dba=70.0,
                                 device="speaker", measured_at=NOW - dt.timedelta(days=1))
    listening.record_calibration(db_session, actor=therapist, client_id=client.id, measured_level_dba=66.0,
                                 device="tablet", measured_at=NOW)
    db_session.commit()  # a new unit of work: its reads are audited afresh
    before = _client_events(db_session, client.id)
    listener = listening.resolve_listener(db_session, actor=therapist, client_id=client.id)
    assert _client_events(db_session, client.id) == before + 1
    assert (listener.code, listener.client_id, listener.client) == ("L001", client.id, client)
    assert listener.flags == ("hearing_loss",) and listener.policy.max_level_dba == 75.0
    assert listener.policy.dose_mode == "sensitive"
    assert (listener.calibration.device, listener.calibration.tone_level_dba) == ("tablet", 66.0)
    speaker = listening.resolve_listener(db_session, actor=therapist, client_id=client.id, device="speaker")
    assert speaker.calibration.tone_level_dba == 70.0
    assert listener.as_dict() == {"client": "L001", "flags": ["hearing_loss"], "policy": listener.policy.as_dict(),
                                  "calibration": {"device": "tablet", "tone_level_dba": 66.0, "is_default": False}}


def test_listener_flags_given_by_hand_add_to_the_record_and_a_calibration_overrides(db_session, therapist,
                                                                                   client_record):
    override = Calibration.from_measurement(60.0, device="command line")
    listener = listening.listener_of(db_session, client=client_record, flags=["seizures", "nicu_infant"],
                                     calibration=override)
    assert listener.flags == ("nicu_infant", "seizures")
    assert listener.policy.nicu_limits and not listener.policy.autoplay_allowed
    assert listener.calibration == override
    with pytest.raises(ParameterError, match="unknown safety flag"):
        listening.listener_of(db_session, client=client_record, flags=["epilepsy"])
    with pytest.raises(ParameterError, match="client"):
        listening.listener_of(db_session, client=client_record.id)


def test_a_listener_without_a_record(db_session):
    plain = listening.listener_from_flags()
    assert plain.code is None and plain.client_id is None and plain.flags == ()
    assert plain.calibration.is_default and plain.policy.max_level_dba == 85.0
    assert listening.listener_from_flags(["trauma_history"]).policy.caution_emotional_material
    with pytest.raises(ParameterError, match="one string"):
        listening.listener_from_flags("hearing_loss")


def test_another_therapists_client_is_no_listener(db_session, make_therapist, client_record):
    with pytest.raises(NotFoundError):
        listening.resolve_listener(db_session, actor=make_therapist("other"), client_id=client_record.id)


def test_calibration_latest_per_device_and_default(db_session, therapist, client_record):
    cid = client_record.id
    assert listening.latest_calibration(db_session, actor=therapist, client_id=cid) == DEFAULT_CALIBRATION
    listening.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=70.0, device="tablet",
                                 measured_at=NOW - dt.timedelta(days=2))
    listening.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=74.0, device="tablet",
                                 measured_at=NOW)
    listening.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=60.0, device="speaker",
                                 measured_at=NOW - dt.timedelta(days=1))
    cal = listening.latest_calibration(db_session, actor=therapist, client_id=cid, device="tablet")
    assert cal.tone_level_dba == 74.0 and not cal.is_default
    speaker = listening.latest_calibration(db_session, actor=therapist, client_id=cid, device="speaker")
    assert speaker.tone_level_dba == 60
    with pytest.raises(ParameterError, match="measured_level_dba"):
        listening.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=0.5)


def test_weekly_dose_known_answer_and_warning(db_session, therapist, client_record):
    cid = client_record.id
    listening.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=80.0, duration_s=30 * 3600,
                             started_at=NOW - dt.timedelta(days=3), source="playlist")
    listening.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=95.0, duration_s=3600,
                             started_at=NOW - dt.timedelta(days=9))
    week = listening.weekly_dose(db_session, actor=therapist, client_id=cid, now=NOW)
    assert week.fraction == pytest.approx(0.75) and week.mode == "adult" and week.warning is None
    preview = listening.preview_session_dose(db_session, actor=therapist, client_id=cid, level_dba=80.0,
                                             duration_s=10 * 3600, now=NOW)
    assert preview.fraction_after == pytest.approx(1.0) and "100 %" in preview.warning


def test_hearing_loss_flag_switches_ledger_to_sensitive(db_session, therapist, client_record):
    cid = client_record.id
    listening.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=75.0, duration_s=20 * 3600,
                             started_at=NOW - dt.timedelta(days=1))
    assert listening.weekly_dose(db_session, actor=therapist, client_id=cid, now=NOW).fraction == pytest.approx(
        20 / 40 * 10 ** -0.5)
    service.update_client(db_session, actor=therapist, client_id=cid, safety_flags=["hearing_loss"])
    week = listening.weekly_dose(db_session, actor=therapist, client_id=cid, now=NOW)
    assert week.mode == "sensitive" and week.fraction == pytest.approx(0.5)


def test_w7_a_childs_weekly_dose_counts_against_the_childrens_allowance(db_session, therapist, client_record):
    """Clinical review W7: a child without any safety flag gets H.870's children's (sensitive) mode from the
    birth year in the record; the same listening is 100 % for the child and about 32 % for an adult."""
    this_year = dt.datetime.now(dt.UTC).year
    child = service.create_client(db_session, actor=therapist, code="K008", birth_year=this_year - 8)
    teen = service.create_client(db_session, actor=therapist, code="K017", birth_year=this_year - 17)
    young_adult = service.create_client(db_session, actor=therapist, code="K019", birth_year=this_year - 19)
    now = dt.datetime.now(dt.UTC)
    for client in (child, teen, young_adult, client_record):
        listening.add_dose_entry(db_session, actor=therapist, client_id=client.id, level_dba=75.0,
                                 duration_s=40 * 3600, started_at=now - dt.timedelta(days=2))
    weeks = {c.code: listening.weekly_dose(db_session, actor=therapist, client_id=c.id, now=now)
             for c in (child, teen, young_adult, client_record)}
    assert weeks["K008"].mode == weeks["K017"].mode == "sensitive"
    assert weeks["K008"].fraction == pytest.approx(1.0) and weeks["K008"].warning
    assert weeks["K019"].mode == weeks["C001"].mode == "adult"
    assert weeks["C001"].fraction == pytest.approx(10 ** -0.5)
    listener = listening.resolve_listener(db_session, actor=therapist, client_id=child.id)
    assert listener.flags == () and listener.policy.dose_mode == "sensitive"
    assert listening.client_weekly_dose(db_session, client=child, now=now).mode == "sensitive"


def test_other_therapist_cannot_see_or_write(db_session, make_therapist, client_record):
    other = make_therapist("other")
    with pytest.raises(NotFoundError):
        listening.weekly_dose(db_session, actor=other, client_id=client_record.id, now=NOW)
    with pytest.raises(NotFoundError):
        listening.add_dose_entry(db_session, actor=other, client_id=client_record.id, level_dba=70, duration_s=60)


def test_bad_dose_entries(db_session, therapist, client_record):
    with pytest.raises(ParameterError, match="source"):
        listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70, duration_s=1,
                                 source="radio")
    with pytest.raises(ParameterError, match="duration_s"):
        listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70, duration_s=-1)
    with pytest.raises(ParameterError, match="started_at"):
        listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70, duration_s=1,
                                 started_at=dt.datetime(2026, 1, 1))


# --- the ledger reads a bounded window: one query, only entries that can overlap the rolling week ---

DAY_S = 24 * 3600


def _statements(db_session):
    seen: list[str] = []

    def _record(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    return seen, _record


def test_ledger_since_drops_entries_that_cannot_overlap(db_session, therapist, client_record):
    cid = client_record.id
    for days_ago, duration_s in ((400, 3600), (20, 3600), (8, 2 * DAY_S), (2, 3600)):
        listening.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=80.0, duration_s=duration_s,
                                 started_at=NOW - dt.timedelta(days=days_ago))
    since = NOW - dt.timedelta(days=7)
    bounded = listening.dose_ledger(db_session, actor=therapist, client_id=cid, since=since)
    everything = listening.dose_ledger(db_session, actor=therapist, client_id=cid)
    assert len(everything.entries) == 4
    assert sorted((NOW - e.started_at).days for e in bounded.entries) == [2, 8]
    # The entry that started 8 days ago still runs a day into the window: the bound must keep it.
    assert bounded.weekly(now=NOW).fraction == pytest.approx(everything.weekly(now=NOW).fraction)
    assert listening.weekly_dose(db_session, actor=therapist, client_id=cid, now=NOW).fraction == pytest.approx(
        (24 + 1) / 40)


def test_client_weekly_dose_is_one_query_and_matches(db_session, therapist, client_record):
    cid = client_record.id
    listening.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=80.0, duration_s=4 * 3600,
                             started_at=NOW - dt.timedelta(days=1))
    listening.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=80.0, duration_s=4 * 3600,
                             started_at=NOW - dt.timedelta(days=30))
    db_session.flush()
    seen, record = _statements(db_session)
    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        week = listening.client_weekly_dose(db_session, client=client_record, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 1 and "sound_dose_entry" in seen[0] and "started_at >=" in seen[0]
    assert week.fraction == pytest.approx(0.1) and week.entries_counted == 1
    assert week.fraction == pytest.approx(listening.weekly_dose(db_session, actor=therapist, client_id=cid,
                                                                now=NOW).fraction)


def test_entry_longer_than_a_week_and_bad_arguments_are_refused(db_session, therapist, client_record):
    with pytest.raises(ParameterError, match="duration_s"):
        listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70.0,
                                 duration_s=8 * DAY_S)
    with pytest.raises(ParameterError, match="since"):
        listening.dose_ledger(db_session, actor=therapist, client_id=client_record.id, since=dt.datetime(2026, 11, 1))
    with pytest.raises(ParameterError, match="client"):
        listening.client_weekly_dose(db_session, client=client_record.id, now=NOW)
