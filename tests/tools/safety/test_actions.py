"""The hearing-safety workflows both faces call: one set of ledger rules, one dose report, one audit trail."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cadenza.clinic import listening, service
from cadenza.errors import NotFoundError, ParameterError
from cadenza.tools.safety import actions

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


def test_listening_that_ended_now_or_started_at_a_time(db_session, therapist, client_record):
    ended = actions.record_listening(db_session, actor=therapist, client_id=client_record.id, level_dba=80.0,
                                     duration_s=2 * 3600, now=NOW, source="playlist", label="evening")
    assert ended.started_at.replace(tzinfo=dt.UTC) == NOW - dt.timedelta(hours=2)
    started = actions.record_listening(db_session, actor=therapist, client_id=client_record.id, level_dba=80.0,
                                       duration_s=3600, started_at=NOW - dt.timedelta(days=1))
    assert started.started_at.replace(tzinfo=dt.UTC) == NOW - dt.timedelta(days=1)
    report = actions.dose_report(db_session, actor=therapist, client_id=client_record.id, now=NOW)
    assert report.week.entries_counted == 2 and report.week.fraction == pytest.approx(3 / 40)


@pytest.mark.parametrize(("values", "match"), [
    ({"duration_s": 1e300}, "duration_s"),  # refused before a start time is computed from it
    ({"duration_s": -60.0}, "duration_s"),
    ({"level_dba": float("nan")}, "level_dba"),
    ({"source": "radio"}, "source"),
    ({"label": "x" * 201}, "label"),
])
def test_one_set_of_ledger_rules(db_session, therapist, client_record, values, match):
    entry = {"level_dba": 70.0, "duration_s": 60.0, **values}
    with pytest.raises(ParameterError, match=match):
        actions.record_listening(db_session, actor=therapist, client_id=client_record.id, now=NOW, **entry)
    assert listening.weekly_dose(db_session, actor=therapist, client_id=client_record.id,
                                 now=NOW).entries_counted == 0


def test_dose_report_with_a_planned_session(db_session, therapist, client_record):
    actions.record_listening(db_session, actor=therapist, client_id=client_record.id, level_dba=80.0,
                             duration_s=20 * 3600, now=NOW)
    report = actions.dose_report(db_session, actor=therapist, client_id=client_record.id, plan_level_dba=80.0,
                                 plan_duration_s=20 * 3600, now=NOW)
    assert report.week.fraction == pytest.approx(0.5) and report.policy.dose_mode == "adult"
    payload = report.as_dict()
    assert payload["planned"]["total_percent_after"] == pytest.approx(100.0)
    assert "100 %" in payload["planned"]["warning"]
    with pytest.raises(ParameterError, match="go together"):
        actions.dose_report(db_session, actor=therapist, client_id=client_record.id, plan_level_dba=80.0, now=NOW)
    with pytest.raises(NotFoundError):
        actions.dose_report(db_session, actor=service.create_therapist(
            db_session, actor=None, username="other", password="correct horse battery"), client_id=client_record.id)


def test_a_track_against_the_listeners_policy(rng):
    loud = 0.4 * rng.standard_normal(16_000 * 2)
    def listener(*flags):
        return listening.listener_from_flags(flags)

    plain = actions.check_track(loud, sampling_rate_hz=16_000, listener=listener())
    infant = actions.check_track(loud, sampling_rate_hz=16_000, listener=listener("nicu_infant"))
    assert not plain.within_policy and plain.nicu_problems == ()
    assert not infant.within_policy and infant.nicu_problems
    quiet = actions.fit_to_policy(loud, sampling_rate_hz=16_000, listener=listener("hearing_loss"))
    assert quiet.report.leq_dba <= 75.05
    tone = actions.calibration_tone(duration_s=1.0)
    assert tone.shape[-1] == actions.TONE_RATE_HZ
    assert 20 * np.log10(np.sqrt(np.mean(tone ** 2))) == pytest.approx(-20.0, abs=0.5)  # -20 dBFS RMS, faded ends


def test_the_command_and_the_page_log_listening_with_the_same_audit_rows(audit_trail, db_session, nurse, logged_in, clinic):
    """``cadenza safety dose --add-...`` and the page's listening form write the same rows; the command first
    finds the client by its code (an audited read), which the page, given the id, does not need."""
    client = service.create_client(db_session, actor=nurse, code="A001")
    db_session.commit()
    token = logged_in.csrf(f"/clients/{client.id}/safety")
    last = audit_trail.last_id(db_session)
    response = logged_in.post(f"/clients/{client.id}/safety/listening",
                              data={"level_dba": "80", "minutes": "30", "source": "playlist", "csrf_token": token})
    assert response.status_code == 303
    page_rows = audit_trail.rows_after(db_session, last)

    last = audit_trail.in_command_record(audit_trail.last_id)
    result = clinic("safety", "dose", "--client", "A001", "--add-level-dba", "80", "--add-minutes", "30",
                    "--source", "playlist")
    assert result.exit_code == 0, result.output
    command_rows = audit_trail.in_command_record(lambda db: audit_trail.rows_after(db, last))

    assert page_rows == [("update", "client"), ("create", "sound_dose_entry")]
    assert command_rows == [("read", "client"), *page_rows]


def test_the_command_and_the_page_calibrate_with_the_same_audit_rows(audit_trail, db_session, nurse, logged_in, clinic):
    client = service.create_client(db_session, actor=nurse, code="A001")
    db_session.commit()
    token = logged_in.csrf(f"/clients/{client.id}/safety")
    last = audit_trail.last_id(db_session)
    response = logged_in.post(f"/clients/{client.id}/safety/calibration",
                              data={"measured_level_dba": "70", "device": "tablet", "csrf_token": token})
    assert response.status_code == 303
    page_rows = audit_trail.rows_after(db_session, last)

    last = audit_trail.in_command_record(audit_trail.last_id)
    result = clinic("safety", "calibrate", "--client", "A001", "--measured-dba", "70", "--device", "tablet")
    assert result.exit_code == 0, result.output
    command_rows = audit_trail.in_command_record(lambda db: audit_trail.rows_after(db, last))

    assert page_rows == [("update", "client"), ("create", "listening_calibration")]
    assert command_rows == [("read", "client"), *page_rows]
