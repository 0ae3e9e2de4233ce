"""The hearing-safety page's read (records.safety_overview): one audited read; the entries it lists are exactly
the ones the week counts."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cadenza.clinic import listening, service
from cadenza.clinic.models import AuditEvent
from cadenza.errors import NotFoundError, ParameterError
from cadenza.tools.safety import records

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
HOUR_S = 3600.0
DAY_S = 24 * HOUR_S
_codes = itertools.count()


def _events(db_session, client_id: int) -> int:
    return db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.client_id == client_id))


def _add(db_session, actor, client_id, *, label, start_s_before_now, duration_s, level_dba=80.0):
    listening.add_dose_entry(db_session, actor=actor, client_id=client_id, level_dba=level_dba, duration_s=duration_s,
                             started_at=NOW - dt.timedelta(seconds=start_s_before_now), label=label)


def test_overview_lists_what_the_week_counts(db_session, therapist, client_record):
    cid = client_record.id
    _add(db_session, therapist, cid, label="straddles", start_s_before_now=8 * DAY_S, duration_s=2 * DAY_S)
    _add(db_session, therapist, cid, label="recent", start_s_before_now=2 * DAY_S, duration_s=HOUR_S)
    _add(db_session, therapist, cid, label="touches", start_s_before_now=8 * DAY_S, duration_s=DAY_S)  # ends at start
    _add(db_session, therapist, cid, label="future", start_s_before_now=-HOUR_S, duration_s=HOUR_S)
    _add(db_session, therapist, cid, label="old", start_s_before_now=30 * DAY_S, duration_s=HOUR_S)
    listening.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=70.0, device="old",
                                 measured_at=NOW - dt.timedelta(days=1))  # explicit: the wall clock must not decide
    listening.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=66.0, device="new",
                                 measured_at=NOW)
    before = _events(db_session, cid)
    view = records.safety_overview(db_session, actor=therapist, client_id=cid, now=NOW)
    assert _events(db_session, cid) == before + 1
    assert view.client.id == cid and view.policy.dose_mode == "adult"
    assert [w.entry.label for w in view.entries] == ["recent", "straddles"]  # newest first
    straddles = view.entries[1]
    assert straddles.started_before_week and straddles.in_week_s == pytest.approx(DAY_S)
    assert straddles.week_percent == pytest.approx(100 * 24 / 40)  # 80 dB(A) for 40 h is the adult allowance
    assert not view.entries[0].started_before_week and view.entries[0].week_percent == pytest.approx(2.5)
    assert view.week.entries_counted == 2 and view.week.fraction == pytest.approx(0.625)
    assert view.week.fraction == pytest.approx(listening.weekly_dose(db_session, actor=therapist, client_id=cid,
                                                                    now=NOW).fraction)
    assert (view.calibration.device, view.calibration.tone_level_dba) == ("new", 66.0)


def test_overview_follows_the_clients_dose_mode(db_session, therapist):
    client = service.create_client(db_session, actor=therapist, code="HL01", safety_flags=["hearing_loss"])
    _add(db_session, therapist, client.id, label="x", start_s_before_now=DAY_S, duration_s=4 * HOUR_S,
         level_dba=75.0)
    view = records.safety_overview(db_session, actor=therapist, client_id=client.id, now=NOW)
    assert view.policy.dose_mode == view.week.mode == "sensitive"
    assert sum(w.week_percent for w in view.entries) == pytest.approx(100 * view.week.fraction)
    assert view.calibration.is_default


def test_overview_empty_and_bad_input(db_session, therapist, client_record, make_therapist):
    view = records.safety_overview(db_session, actor=therapist, client_id=client_record.id, now=NOW)
    assert view.entries == [] and view.week.fraction == 0.0 and view.week.entries_counted == 0
    with pytest.raises(ParameterError, match="now must be a timezone-aware datetime"):
        records.safety_overview(db_session, actor=therapist, client_id=client_record.id, now=dt.datetime(2026, 1, 1))
    with pytest.raises(NotFoundError, match="client"):
        records.safety_overview(db_session, actor=make_therapist("other"), client_id=client_record.id, now=NOW)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(-2 * 86_400, 20 * 86_400), st.integers(0, 7 * 86_400), st.floats(40, 100)),
                max_size=6))  # whole seconds: the stored timestamps keep microseconds, the model here is exact
def test_listed_entries_add_up_to_the_weekly_total(db_session, therapist, periods):
    client = service.create_client(db_session, actor=therapist, code=f"P{next(_codes):04d}")
    for i, (start_s, duration_s, level) in enumerate(periods):
        _add(db_session, therapist, client.id, label=str(i), start_s_before_now=start_s, duration_s=duration_s,
             level_dba=level)
    view = records.safety_overview(db_session, actor=therapist, client_id=client.id, now=NOW)
    assert len(view.entries) == view.week.entries_counted
    assert sum(w.week_percent for w in view.entries) == pytest.approx(100 * view.week.fraction, rel=1e-9, abs=1e-9)
    expected = {str(i) for i, (start_s, duration_s, _) in enumerate(periods)
                if min(start_s, 7 * DAY_S) > max(start_s - duration_s, 0.0)}
    assert {w.entry.label for w in view.entries} == expected
    starts = [w.entry.started_at for w in view.entries]
    assert starts == sorted(starts, reverse=True)
    assert [w.started_before_week for w in view.entries] == [s < view.week.window_start for s in starts]


def test_entry_running_past_now_is_not_marked_as_started_before(db_session, therapist, client_record):
    _add(db_session, therapist, client_record.id, label="ongoing", start_s_before_now=HOUR_S, duration_s=3 * HOUR_S)
    (only,) = records.safety_overview(db_session, actor=therapist, client_id=client_record.id, now=NOW).entries
    assert only.in_week_s == pytest.approx(HOUR_S) and not only.started_before_week


def test_overview_of_a_client_read_by_the_caller_adds_no_audit_row(db_session, therapist, client_record):
    _add(db_session, therapist, client_record.id, label="recent", start_s_before_now=HOUR_S, duration_s=HOUR_S)
    before = _events(db_session, client_record.id)
    view = records.overview_of(db_session, client=client_record, now=NOW)
    assert _events(db_session, client_record.id) == before
    audited = records.safety_overview(db_session, actor=therapist, client_id=client_record.id, now=NOW)
    assert (view.week, view.entries, view.policy, view.calibration) == (
        audited.week, audited.entries, audited.policy, audited.calibration)
    assert view.listener.code == client_record.code
