"""Hostile and careless inputs from the security probe (H3, H4, M3): each is refused with a 422 that
names the field and stores nothing, never a 500, never a cut text, and never an unbounded allocation.

Run on SQLite and (with CADENZA_TEST_POSTGRES_URL) PostgreSQL, where NUL, over-long VARCHARs and
64-bit ids used to fail in the driver.
"""

from __future__ import annotations

import datetime as dt
import html
import time

import numpy as np
import pytest
from sqlalchemy import func, select

from cadenza.clinic import listening, service
from cadenza.clinic.models import Goal, Measurement, SessionAddendum, TherapySession
from cadenza.errors import ParameterError
from cadenza.ras.sync import MAX_WALK_S, check_cue, check_step_times, make_cue_beat_times
from cadenza.tools.library import records as library_records
from cadenza.tools.mit import records as mit_records
from cadenza.web import forms

HUGE_ID = "999999999999"  # 12 digits: beyond INTEGER, used to overflow the driver
TWENTY_DIGITS = "99999999999999999999"
LONG = 25_000
STEPS = "\n".join(f"{0.3 + 0.6 * k:.2f}" for k in range(20))


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def ann(make_therapist):
    return make_therapist("ann")


@pytest.fixture
def browser(login_as, ann):
    return login_as("ann")


@pytest.fixture
def record(db_session, ann):
    """ann's client with one unsigned session."""
    client = service.create_client(db_session, actor=ann, code="P1", conditions=["stroke"])
    session_row = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 20),
                                         minutes=30, intervention_code="ras_gait_training")
    db_session.commit()
    return client, session_row


def _count(db_session, model) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(model))


def _post(browser, web, path: str, page: str, data: dict, files: dict | None = None):
    token = web.page_csrf(browser, page)
    return browser.post(path, data={"csrf_token": token, **data}, files=files)


def _message(response) -> str:
    return html.unescape(response.text)


# ---- H3: RAS synchronisation is bounded before anything is allocated -------------------------------


@pytest.mark.timed  # a wall-clock bound: run alone (scripts/test's second part)
@pytest.mark.parametrize("far_s", [1e5, 1e7, 1e12, 1e300])
def test_far_step_time_is_refused_at_once(browser, web, record, far_s):
    client, _ = record
    steps = "\n".join(f"{k}" for k in range(1, 8)) + f"\n{far_s!r}"
    started = time.perf_counter()
    response = _post(browser, web, f"/clients/{client.id}/ras/sync", f"/clients/{client.id}/ras",
                     {"tempo_bpm": "250", "cue_start_s": "0", "latency_ms": "0", "steps_text": steps})
    elapsed_s = time.perf_counter() - started
    assert response.status_code == 422
    assert elapsed_s < 5.0, f"refusing a far step took {elapsed_s:.2f} s"  # a hang, not a slow machine
    assert 'id="e-steps_text"' in response.text and "14400" in response.text


@pytest.mark.timed  # a wall-clock bound: run alone (scripts/test's second part)
@pytest.mark.parametrize("cue_start", ["nan", "inf", "-inf", "1e308", "-1e308", "-1e15", "1e20", "-5"])
def test_cue_start_out_of_range_is_refused(browser, web, record, cue_start):
    client, _ = record
    started = time.perf_counter()
    response = _post(browser, web, f"/clients/{client.id}/ras/sync", f"/clients/{client.id}/ras",
                     {"tempo_bpm": "100", "cue_start_s": cue_start, "latency_ms": "0", "steps_text": STEPS})
    assert response.status_code == 422
    assert time.perf_counter() - started < 5.0  # a hang, not a slow machine
    assert 'id="e-cue_start_s"' in response.text


def test_cue_start_after_the_last_step_is_refused(browser, web, record):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/ras/sync", f"/clients/{client.id}/ras",
                     {"tempo_bpm": "100", "cue_start_s": "600", "latency_ms": "0", "steps_text": STEPS})
    assert response.status_code == 422
    assert 'id="e-cue_start_s"' in response.text and "after the last step" in _message(response)


@pytest.mark.parametrize("tempo", ["0", "1e308", "nan", "-inf", "19.9", "251"])
def test_tempo_is_checked_first(browser, web, record, tempo):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/ras/sync", f"/clients/{client.id}/ras",
                     {"tempo_bpm": tempo, "cue_start_s": "0", "latency_ms": "0", "steps_text": STEPS})
    assert response.status_code == 422
    assert 'id="e-tempo_bpm"' in response.text


GAIT_UPLOAD = ("POST", "/clients/{client_id}/gait")


def _walk_csv(authz_samples) -> dict:
    """The authorisation matrix's walk recording (tests/web/authz/gait.py), as httpx ``files``."""
    return authz_samples[GAIT_UPLOAD]["files"]()


def _walk_csv_with(authz_samples, value: str) -> bytes:
    """The authorisation matrix's walk recording with every accelerometer sample replaced by ``value``."""
    lines = _walk_csv(authz_samples)["recording"][1].decode().splitlines()
    rows = [",".join([line.split(",")[0], value, value, value]) for line in lines[1:]]
    return "\n".join([lines[0], *rows]).encode()


@pytest.mark.parametrize("value", ["nan", "inf", "1e308"])
def test_imu_recording_without_usable_samples_is_a_422(browser, web, record, authz_samples, value):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/ras/sync", f"/clients/{client.id}/ras",
                     {"tempo_bpm": "100", "cue_start_s": "0", "latency_ms": "0", "placement": "lower-back"},
                     files={"recording": ("walk.csv", _walk_csv_with(authz_samples, value), "text/csv")})
    assert response.status_code == 422, response.text[-500:]
    assert "zero-size array" not in response.text


def test_sync_bounds_in_the_science_layer():
    with pytest.raises(ParameterError, match="step_times_s"):
        check_step_times(np.array([1.0, MAX_WALK_S + 1]))
    with pytest.raises(ParameterError, match="step_times_s"):
        check_step_times(np.array([-0.5, 1.0]))
    with pytest.raises(ParameterError, match="step_times_s"):
        check_step_times(np.array([1.0, np.nan]))
    with pytest.raises(ParameterError, match="tempo_bpm"):
        check_cue(tempo_bpm=float("nan"))
    with pytest.raises(ParameterError, match="cue_start_s"):
        make_cue_beat_times(np.array([1.0, 2.0]), tempo_bpm=100.0, cue_start_s=3.0)
    beats = make_cue_beat_times(np.array([0.0, MAX_WALK_S]), tempo_bpm=250.0)
    assert beats.size == np.arange(0.0, MAX_WALK_S + 2.0, 60.0 / 250.0).size  # the old arange, now bounded
    assert make_cue_beat_times(np.empty(0), tempo_bpm=100.0).size == 0


# ---- H4: every probe row is a 422 naming the field -------------------------------------------------


@pytest.mark.parametrize("minutes", ["nan", "inf", "-inf", "1e308", "1" * 25, "-5", "20000"])
def test_listening_minutes_out_of_range(browser, web, db_session, record, minutes):
    client, _ = record
    before = _count(db_session, listening.SoundDoseEntry)
    response = _post(browser, web, f"/clients/{client.id}/safety/listening", f"/clients/{client.id}/safety",
                     {"level_dba": "70", "minutes": minutes, "source": "manual"})
    assert response.status_code == 422
    assert 'id="e-minutes"' in response.text
    assert _count(db_session, listening.SoundDoseEntry) == before


def test_listening_minutes_of_20001_digits(browser, web, db_session, record):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/safety/listening", f"/clients/{client.id}/safety",
                     {"level_dba": "70", "minutes": "1" * 20_001, "source": "manual"})
    assert response.status_code == 422
    assert 'id="e-minutes"' in response.text and "20,001 characters" in response.text
    assert _count(db_session, listening.SoundDoseEntry) == 0


@pytest.mark.parametrize("bad_id", [HUGE_ID, TWENTY_DIGITS, "-1", "0", "1e3", "\u0663"])
def test_ids_in_ras_sync_form(browser, web, record, bad_id):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/ras/sync", f"/clients/{client.id}/ras",
                     {"tempo_bpm": "100", "cue_start_s": "0", "latency_ms": "0", "steps_text": STEPS,
                      "session_id": bad_id})
    assert response.status_code == 422
    assert 'session_id must be a record id' in response.text


@pytest.mark.parametrize("bad_id", [HUGE_ID, "-7"])
def test_ids_in_gait_form(browser, web, record, authz_samples, bad_id):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/gait", f"/clients/{client.id}/gait",
                     {"placement": "lower-back", "session_id": bad_id}, files=_walk_csv(authz_samples))
    assert response.status_code == 422
    assert "session_id must be a record id" in response.text


@pytest.mark.parametrize("field", ["phrase_id", "session_id"])
@pytest.mark.parametrize("bad_id", [HUGE_ID, "-3"])
def test_ids_in_mit_attempt_form(browser, web, db_session, ann, record, field, bad_id):
    client, session_row = record
    phrase = mit_records.add_phrase(db_session, actor=ann, client_id=client.id, text="I want water")
    db_session.commit()
    values = {"phrase_id": str(phrase.id), "level": "1", "session_id": str(session_row.id), field: bad_id}
    response = _post(browser, web, f"/clients/{client.id}/mit/attempts", f"/clients/{client.id}/mit", values,
                     files={"attempt": ("a.wav", b"RIFF", "audio/wav")})
    assert response.status_code == 422
    assert f"{field} must be a record id" in response.text


@pytest.mark.parametrize("bad_id", [HUGE_ID, "-2"])
def test_ids_in_library_response_form(browser, web, db_session, ann, record, authz_modules, bad_id):
    client, _ = record
    track_id = authz_modules.library.make_track(db_session, ann, client.id)["track_id"]
    db_session.commit()
    response = _post(browser, web, f"/clients/{client.id}/library/tracks/{track_id}/responses",
                     f"/clients/{client.id}/library",
                     {"session_id": bad_id, "engagement": "2", "mood": "0", "agitation": "0"})
    assert response.status_code == 422
    assert "session_id must be a record id" in response.text
    assert _count(db_session, library_records.LibraryResponse) == 0


def test_goal_id_of_a_session_form_measurement(browser, web, db_session, record):
    client, _ = record
    before = _count(db_session, TherapySession)
    response = _post(browser, web, f"/clients/{client.id}/sessions/new", f"/clients/{client.id}/sessions/new",
                     {"session_date": "2026-11-21", "minutes": "30", "intervention_code": "ras_gait_training",
                      "gait_speed.value": "0.8", "gait_speed.goal_id": TWENTY_DIGITS})
    assert response.status_code == 422
    assert "gait_speed.goal_id must be a record id" in response.text
    assert _count(db_session, TherapySession) == before


EDGE_DATETIMES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"]


@pytest.mark.parametrize("moment", EDGE_DATETIMES)
def test_api_measurement_at_the_edge_of_time(client, api_token_for, db_session, record, moment):
    patient, session_row = record
    before = _count(db_session, Measurement)
    response = client.post(f"/api/v1/clients/{patient.id}/sessions/{session_row.id}/measurements",
                           headers=api_token_for("ann"),
                           json={"instrument_code": "gait_speed", "value": 0.8, "measured_at": moment})
    assert response.status_code == 422, response.text
    assert "measured_at" in response.text
    assert _count(db_session, Measurement) == before


@pytest.mark.parametrize("moment", EDGE_DATETIMES)
def test_api_sound_dose_at_the_edge_of_time(client, api_token_for, db_session, record, moment):
    patient, _ = record
    response = client.post(f"/api/v1/clients/{patient.id}/sound-dose", headers=api_token_for("ann"),
                           json={"level_dba": 70, "duration_s": 600, "started_at": moment})
    assert response.status_code == 422, response.text
    assert "started_at" in response.text
    assert _count(db_session, listening.SoundDoseEntry) == 0


@pytest.mark.parametrize("moment", [dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-12))),
                                    dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))])
def test_services_refuse_datetimes_without_a_utc_value(db_session, ann, record, moment):
    patient, session_row = record
    with pytest.raises(ParameterError, match="started_at"):
        listening.add_dose_entry(db_session, actor=ann, client_id=patient.id, level_dba=70, duration_s=60,
                                 started_at=moment)
    with pytest.raises(ParameterError, match="measured_at"):
        service.add_measurement(db_session, actor=ann, session_id=session_row.id,
                                measurement=service.MeasurementInput("gait_speed", value=0.8, measured_at=moment))


def test_api_sound_dose_label_with_nul(client, api_token_for, db_session, record):
    patient, _ = record
    response = client.post(f"/api/v1/clients/{patient.id}/sound-dose", headers=api_token_for("ann"),
                           json={"level_dba": 70, "duration_s": 600, "label": "ward\u0000radio"})
    assert response.status_code == 422, response.text
    assert "label" in response.text
    assert _count(db_session, listening.SoundDoseEntry) == 0


@pytest.mark.parametrize("device", ["d" * 65, "d" * 20_000])
def test_calibration_device_longer_than_its_column(browser, web, db_session, record, device):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/safety/calibration", f"/clients/{client.id}/safety",
                     {"measured_level_dba": "74", "device": device})
    assert response.status_code == 422
    assert 'id="e-device"' in response.text and "64 characters" in response.text
    assert _count(db_session, listening.ListeningCalibration) == 0


def test_calibration_service_refuses_long_and_nul_device(db_session, ann, record):
    patient, _ = record
    with pytest.raises(ParameterError, match="device"):
        listening.record_calibration(db_session, actor=ann, client_id=patient.id, measured_level_dba=74,
                                     device="x" * 65)
    with pytest.raises(ParameterError, match="device"):
        listening.record_calibration(db_session, actor=ann, client_id=patient.id, measured_level_dba=74,
                                     device="ward\x00speaker")


def test_mit_phrase_with_more_syllables_than_its_stress_column(db_session, ann, record):
    patient, _ = record
    with pytest.raises(ParameterError, match="syllables"):
        mit_records.add_phrase(db_session, actor=ann, client_id=patient.id,
                               text=" ".join(["internationalization"] * 9))


@pytest.mark.parametrize("bad_id", [2**31, 10**20, -1, 0])
def test_services_treat_out_of_range_ids_as_absent(db_session, ann, bad_id):
    from cadenza.errors import NotFoundError

    with pytest.raises(NotFoundError):
        service.get_session(db_session, actor=ann, session_id=bad_id)
    with pytest.raises(NotFoundError):
        service.get_client(db_session, actor=ann, client_id=bad_id)
    with pytest.raises(NotFoundError):
        mit_records.get_phrase(db_session, actor=ann, phrase_id=bad_id)


# ---- M3: over-long fields are refused whole, never cut -------------------------------------------


def _long_text(n: int = LONG) -> str:
    return ("x" * (n - 12)) + "END-OF-NOTE!"


def test_long_subjective_on_a_new_session_is_refused_and_kept(browser, web, db_session, record):
    client, _ = record
    before = _count(db_session, TherapySession)
    text = _long_text()
    response = _post(browser, web, f"/clients/{client.id}/sessions/new", f"/clients/{client.id}/sessions/new",
                     {"session_date": "2026-11-21", "minutes": "30", "intervention_code": "ras_gait_training",
                      "subjective": text})
    assert response.status_code == 422
    assert 'id="e-subjective"' in response.text
    assert "subjective is 25,000 characters; the limit is 20,000" in response.text
    assert text in response.text  # what was typed is shown again, whole
    assert _count(db_session, TherapySession) == before


def test_long_plan_on_a_session_edit_is_refused(browser, web, db_session, record):
    client, session_row = record
    path = f"/clients/{client.id}/sessions/{session_row.id}/edit"
    response = _post(browser, web, path, path, {"version": str(session_row.version), "minutes": "30",
                                                "plan": _long_text()})
    assert response.status_code == 422
    assert "plan is 25,000 characters" in response.text
    db_session.expire_all()
    assert db_session.get(TherapySession, session_row.id).soap_plan == ""


def test_long_addendum_is_refused(browser, web, db_session, ann, record):
    client, session_row = record
    service.sign_session(db_session, actor=ann, session_id=session_row.id, expected_version=session_row.version)
    db_session.commit()
    page = f"/clients/{client.id}/sessions/{session_row.id}"
    response = _post(browser, web, f"{page}/addenda", page, {"text": _long_text()})
    assert response.status_code == 422
    assert "text is 25,000 characters" in response.text
    assert _count(db_session, SessionAddendum) == 0


def test_long_goal_description_is_refused(browser, web, db_session, record):
    client, _ = record
    path = f"/clients/{client.id}/goals/new"
    response = _post(browser, web, path, path, {"instrument_code": "gait_speed", "baseline": "0.5", "target": "0.9",
                                                "description": _long_text()})
    assert response.status_code == 422
    assert 'id="e-description"' in response.text and "description is 25,000 characters" in response.text
    assert _count(db_session, Goal) == 0


def test_long_mit_note_is_refused(browser, web, db_session, record):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/mit/phrases", f"/clients/{client.id}/mit",
                     {"text": "I want water", "level": "1", "note": _long_text()})
    assert response.status_code == 422
    assert "note is 25,000 characters" in response.text
    assert _count(db_session, mit_records.MitPhrase) == 0


def test_long_family_pick_note_is_refused(browser, web, db_session, ann, record, authz_modules):
    client, _ = record
    track_id = authz_modules.library.make_track(db_session, ann, client.id)["track_id"]
    db_session.commit()
    response = _post(browser, web, f"/clients/{client.id}/library/tracks/{track_id}/family-pick",
                     f"/clients/{client.id}/library", {"note": _long_text(), "by": "daughter"})
    assert response.status_code == 422
    assert "note is 25,000 characters" in _message(response)
    db_session.expire_all()
    assert db_session.get(library_records.LibraryTrack, track_id).family_pick_note == ""


def test_long_listening_label_is_refused_not_cut(browser, web, db_session, record):
    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/safety/listening", f"/clients/{client.id}/safety",
                     {"level_dba": "70", "minutes": "30", "source": "manual", "label": "l" * 201})
    assert response.status_code == 422
    assert 'id="e-label"' in response.text
    assert _count(db_session, listening.SoundDoseEntry) == 0


def test_long_pasted_step_list_is_analysed_whole(browser, web, record):
    client, _ = record
    steps = "\n".join(f"{0.3 + 0.6 * k:.3f}" for k in range(3_000))  # ~26,000 characters, 30 min of walking
    assert len(steps) > forms.MAX_FIELD_CHARS
    response = _post(browser, web, f"/clients/{client.id}/ras/sync", f"/clients/{client.id}/ras",
                     {"tempo_bpm": "100", "cue_start_s": "0", "latency_ms": "0", "steps_text": steps})
    assert response.status_code == 200, _message(response)[-800:]
    assert steps in response.text  # analysed and shown again whole, not its first 20,000 characters


def test_step_list_beyond_its_own_limit_is_refused(browser, web, record):
    from cadenza.tools.ras.pages import MAX_STEPS_TEXT_CHARS

    client, _ = record
    response = _post(browser, web, f"/clients/{client.id}/ras/sync", f"/clients/{client.id}/ras",
                     {"tempo_bpm": "100", "cue_start_s": "0", "latency_ms": "0",
                      "steps_text": "1" * (MAX_STEPS_TEXT_CHARS + 1)})
    assert response.status_code == 422
    assert 'id="e-steps_text"' in response.text and "1,000,001 characters" in response.text


def test_form_values_keep_text_whole_and_name_long_fields():
    values = forms.form_values({"a": "x" * 20_001, "b": "ok\x00", "steps": "y" * 30, "csrf_token": "t"},
                               max_chars={"steps": 20})
    assert len(values["a"]) == 20_001 and values["b"] == "ok" and "csrf_token" not in values
    assert values.too_long == {"a": (20_001, 20_000), "steps": (30, 20)}
    state = forms.FormState(values=values)
    assert not state.ok and "a is 20,001 characters" in state.errors["a"] and "steps" in state.errors


@pytest.mark.parametrize("raw", [HUGE_ID, TWENTY_DIGITS, "1" * 20_001, "-1", "0", "1_000", "0x10", "\uff11", "1.0"])
def test_parse_id_refuses_what_is_not_a_row_id(raw):
    state = forms.FormState(values={"session_id": raw})
    assert forms.parse_id(state, "session_id") is None
    assert state.errors["session_id"].startswith("session_id must be")
    assert len(state.errors["session_id"]) < 200  # a 20,001-digit value is not echoed back whole


@pytest.mark.parametrize("raw", [str(2**31), str(-(2**31) - 1), "1" * 30])
def test_parse_int_stays_in_the_database_range(raw):
    state = forms.FormState(values={"minutes": raw})
    assert forms.parse_int(state, "minutes") is None and "minutes" in state.errors


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity"])
def test_parse_float_refuses_non_finite(raw):
    state = forms.FormState(values={"level_dba": raw})
    assert forms.parse_float(state, "level_dba") is None and "finite" in state.errors["level_dba"]


@pytest.mark.parametrize("field", ["label", "username"])
def test_api_token_request_with_nul_is_422(client, make_therapist, field):
    make_therapist("nul_token_user")
    body = {"username": "nul_token_user", "password": "violin-harbour-sunrise-7", "label": "tablet"}
    body[field] = body[field] + "\x00x"
    answer = client.post("/api/v1/auth/token", json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
