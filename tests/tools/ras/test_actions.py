"""The RAS workflows both faces call: one set of input rules for a sync report, and one audit trail."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cadenza.clinic import service
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError
from cadenza.tools.ras import actions, records

STEPS_S = 1.0 + 0.6 * np.arange(40) - 0.03 + 0.1  # 30 ms before the beat as heard through 100 ms latency
CUE = {"tempo_bpm": 100.0, "cue_start_s": 1.0, "output_latency_s": 0.1}
SYNC_ROWS = ["create", "ras_sync_report"]


def _session(db, therapist, client_id: int):
    return service.record_session(db, actor=therapist, client_id=client_id, session_date=dt.date(2026, 11, 25),
                                  minutes=30, intervention_code="ras_gait_training")


def test_analyse_sync_touches_no_record():
    result = actions.analyse_sync(STEPS_S, **CUE)
    assert result.stored == ()
    summary = result.report.summary()
    assert summary["mean_asynchrony_ms"] == pytest.approx(-30, abs=0.01) and summary["resultant_length"] > 0.999


@pytest.mark.parametrize(("steps_s", "cue", "match"), [
    (STEPS_S[:7], CUE, "at least 8"),
    (np.r_[STEPS_S, np.nan], CUE, "finite"),
    (STEPS_S * 1000, CUE, "milliseconds given as seconds"),
    (STEPS_S, {**CUE, "tempo_bpm": 400.0}, "tempo_bpm"),
    (STEPS_S, {**CUE, "tempo_bpm": 10.0}, "tempo_bpm"),
    (STEPS_S, {"cue_start_s": 0.0}, "exactly one of tempo_bpm or beat_times_s"),
])
def test_one_set_of_input_rules(steps_s, cue, match):
    """The rules the page had (>= 8 steps, 20..250 BPM) now hold for the command too."""
    with pytest.raises(ParameterError, match=match):
        actions.analyse_sync(steps_s, **cue)


def test_the_cues_own_beats_can_be_given_instead_of_a_tempo():
    beats_s = np.arange(0, 40, 0.6)
    result = actions.analyse_sync(beats_s[3:60] - 0.035, beat_times_s=beats_s)
    assert result.report.summary()["mean_asynchrony_ms"] == pytest.approx(-35, abs=0.01)


@settings(max_examples=40, deadline=None)
@given(times=st.lists(st.floats(0, 3600, allow_nan=False), min_size=8, max_size=60, unique=True),
       header=st.booleans(), sep=st.sampled_from(["\n", "\r\n"]))
def test_step_text_round_trip(times, header, sep):
    text = ("time_s" + sep if header else "") + sep.join(f"{t!r},L" for t in times)
    np.testing.assert_array_equal(actions.parse_step_times(text), np.unique(times))


def test_a_non_numeric_line_names_the_steps():
    with pytest.raises(ParameterError, match="step_times_s has a non-numeric line"):
        actions.parse_step_times("1.0\n2.0\noops\n")


@pytest.mark.parametrize("face", ["page", "command with --store-session", "command with --client"])
def test_record_sync_is_audited_the_same_from_both_faces(audit_trail, db_session, therapist, client_record, face):
    """The page names the client and the session; the command one of them. The report's rows are the same."""
    row = _session(db_session, therapist, client_record.id)
    db_session.commit()
    last = audit_trail.last_id(db_session)
    client_id = None if face == "command with --store-session" else client_record.id
    session_id = None if face == "command with --client" else row.id
    result = actions.record_sync(db_session, actor=therapist, step_times_s=STEPS_S, client_id=client_id,
                                 session_id=session_id, **CUE)
    db_session.commit()
    rows = audit_trail.rows_after(db_session, last)
    if session_id is None:
        assert result.stored == ()
        assert rows == [("create", "client"), ("create", "ras_sync_report")]
    else:
        assert {m.instrument_code for m in result.stored} == {
            records.RAS_SYNC_R.code, records.RAS_MEAN_ASYNCHRONY_MS.code, records.RAS_STEPS_IN_WINDOW_PCT.code,
            records.RAS_STEPS_LOCKED_PCT.code}
        assert rows[:3] == [("read", "therapy_session"), ("create", "client"), ("create", "ras_sync_report")]
        assert rows[3:] == [("update", "therapy_session"), ("create", "measurement")] * 4


def test_a_session_of_another_client_is_not_found(db_session, therapist, client_record):
    other = service.create_client(db_session, actor=therapist, code="R.OTHER")
    row = _session(db_session, therapist, other.id)
    with pytest.raises(NotFoundError, match="not found for client"):
        actions.record_sync(db_session, actor=therapist, step_times_s=STEPS_S, client_id=client_record.id,
                            session_id=row.id, **CUE)
    assert service.list_measurements(db_session, actor=therapist, client_id=other.id) == []


def test_a_recorded_report_needs_a_client_or_a_session(db_session, therapist):
    with pytest.raises(ParameterError, match="client_id or session_id"):
        actions.record_sync(db_session, actor=therapist, step_times_s=STEPS_S, **CUE)


def test_record_plan_from_a_cadence_or_the_latest_measured_and_w12_m5_stroke_above_5_percent_needs_symmetry(
        db_session, therapist, client_record):
    plan, row = actions.record_plan(db_session, actor=therapist, client_id=client_record.id, cadence_spm=96,
                                    condition="stroke")
    assert [s.tempo_bpm for s in plan.stages] == [96.0, 100.8] and row.client_id == client_record.id  # W12
    with pytest.raises(ParameterError, match="no cadence measurement"):
        actions.record_plan(db_session, actor=therapist, client_id=client_record.id)
    # W12/M5: above +5 % a stroke plan needs a step_time_asymmetry on the record.
    with pytest.raises(ParameterError, match="step_time_asymmetry"):
        actions.record_plan(db_session, actor=therapist, client_id=client_record.id, cadence_spm=96,
                            condition="stroke", max_increase_percent=10, symmetry_checked=True)
    session = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                     session_date=dt.date(2026, 11, 20), minutes=30, intervention_code="ras_gait_training",
                                     measurements=[MeasurementInput("step_time_asymmetry", value=8.0)])
    assert session.measurements[0].unit == "%"
    plan, _ = actions.record_plan(db_session, actor=therapist, client_id=client_record.id, cadence_spm=96,
                                  condition="stroke", max_increase_percent=10, symmetry_checked=True)
    assert plan.stages[-1].tempo_bpm == 105.6 and plan.symmetry_checked


def test_the_command_and_the_page_write_the_same_audit_rows(audit_trail, db_session, therapist, client_record, web_browser,
                                                             tmp_path, command_db):
    """The same sync report from ``cadenza ras sync`` and from the page: the command's rows are the page's,
    which then shows the page (reads only)."""
    from cadenza.cli.main import app
    from cadenza.clinic.db import session_scope

    # the page
    row = _session(db_session, therapist, client_record.id)
    db_session.commit()
    assert web_browser.log_in(therapist.username).status_code == 303
    token = web_browser.csrf(f"/clients/{client_record.id}/ras")
    last = audit_trail.last_id(db_session)
    response = web_browser.post(f"/clients/{client_record.id}/ras/sync", data={
        "csrf_token": token, "tempo_bpm": "100", "cue_start_s": "1.0", "latency_ms": "100",
        "session_id": str(row.id), "steps_text": "\n".join(f"{t:.4f}" for t in STEPS_S)})
    assert response.status_code == 200, response.text[-500:]
    page_rows = audit_trail.rows_after(db_session, last)

    # the command, on its own database
    factory = command_db.factory
    with session_scope(factory) as db:
        session_id = _session(db, service.get_therapist_by_username(db, "ana"), command_db.client_id).id
    with session_scope(factory) as db:
        last = audit_trail.last_id(db)
    steps_file = tmp_path / "steps.txt"
    steps_file.write_text("\n".join(f"{t:.4f}" for t in STEPS_S))
    result = CliRunner().invoke(app, ["ras", "sync", "--steps", str(steps_file), "--bpm", "100", "--cue-start", "1.0",
                                      "--latency-ms", "100", "--client", "C9", "--store-session", str(session_id),
                                      "--as", "ana", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["summary"]["mean_asynchrony_ms"] == pytest.approx(-30, abs=0.01)
    assert payload["stored"] == f"stored 4 synchronisation measurements on session {session_id}"
    with session_scope(factory) as db:
        command_rows = audit_trail.rows_after(db, last)

    assert ("create", "ras_sync_report") in command_rows
    assert page_rows[:len(command_rows)] == command_rows
    assert {action for action, _ in page_rows[len(command_rows):]} <= {"read", "list"}

