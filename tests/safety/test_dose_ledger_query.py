"""The dose ledger reads a bounded window: one query, only entries that can overlap the rolling week."""

import datetime as dt

import pytest
from sqlalchemy import event

from cadenza.clinic import safety_records as sr
from cadenza.errors import ParameterError

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
DAY_S = 24 * 3600


def _statements(db_session):
    seen: list[str] = []

    def _record(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    return seen, _record


def test_ledger_since_drops_entries_that_cannot_overlap(db_session, therapist, client_record):
    cid = client_record.id
    for days_ago, duration_s in ((400, 3600), (20, 3600), (8, 2 * DAY_S), (2, 3600)):
        sr.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=80.0, duration_s=duration_s,
                          started_at=NOW - dt.timedelta(days=days_ago))
    since = NOW - dt.timedelta(days=7)
    bounded = sr.dose_ledger(db_session, actor=therapist, client_id=cid, since=since)
    everything = sr.dose_ledger(db_session, actor=therapist, client_id=cid)
    assert len(everything.entries) == 4
    assert sorted((NOW - e.started_at).days for e in bounded.entries) == [2, 8]
    # The entry that started 8 days ago still runs a day into the window: the bound must keep it.
    assert bounded.weekly(now=NOW).fraction == pytest.approx(everything.weekly(now=NOW).fraction)
    assert sr.weekly_dose(db_session, actor=therapist, client_id=cid, now=NOW).fraction == pytest.approx(
        (24 + 1) / 40)


def test_client_weekly_dose_is_one_query_and_matches(db_session, therapist, client_record):
    cid = client_record.id
    sr.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=80.0, duration_s=4 * 3600,
                      started_at=NOW - dt.timedelta(days=1))
    sr.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=80.0, duration_s=4 * 3600,
                      started_at=NOW - dt.timedelta(days=30))
    db_session.flush()
    seen, record = _statements(db_session)
    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        week = sr.client_weekly_dose(db_session, client=client_record, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 1 and "sound_dose_entry" in seen[0] and "started_at >=" in seen[0]
    assert week.fraction == pytest.approx(0.1) and week.entries_counted == 1
    assert week.fraction == pytest.approx(sr.weekly_dose(db_session, actor=therapist, client_id=cid,
                                                         now=NOW).fraction)


def test_entry_longer_than_a_week_and_bad_arguments_are_refused(db_session, therapist, client_record):
    with pytest.raises(ParameterError, match="duration_s"):
        sr.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70.0,
                          duration_s=8 * DAY_S)
    with pytest.raises(ParameterError, match="since"):
        sr.dose_ledger(db_session, actor=therapist, client_id=client_record.id, since=dt.datetime(2026, 11, 1))
    with pytest.raises(ParameterError, match="client"):
        sr.client_weekly_dose(db_session, client=client_record.id, now=NOW)
