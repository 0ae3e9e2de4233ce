"""Hearing-safety and NICU pages through the web app: flags change what is shown and served."""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pytest
import soundfile as sf

from cadenza.clinic import safety_records, service
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.nicu.pal import simulate_suck_pressure
from cadenza.nicu.stop_rules import StopEvent
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import Calibration


@pytest.fixture
def browser(web_browser):
    return web_browser


@pytest.fixture
def nurse(make_therapist):
    return make_therapist("nurse")


@pytest.fixture
def logged_in(browser, nurse):
    r = browser.log_in("nurse")
    assert r.status_code in (302, 303)
    return browser


def make_client(db_session, nurse, code, flags):
    c = service.create_client(db_session, actor=nurse, code=code, safety_flags=flags)
    db_session.commit()
    return c


def test_dose_ledger_page_add_listening_and_warning(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "A001", [])
    page = logged_in.get(f"/clients/{c.id}/safety")
    assert page.status_code == 200 and "0.0 %" in page.text and "autoplay" not in page.text
    token = logged_in.csrf(f"/clients/{c.id}/safety")
    r = logged_in.post(f"/clients/{c.id}/safety/listening",
                       data={"level_dba": "80", "minutes": "2400", "source": "playlist", "csrf_token": token})
    assert r.status_code == 303
    page = logged_in.get(f"/clients/{c.id}/safety")
    assert "100.0 %" in page.text and "lower the volume" in page.text
    bad = logged_in.post(f"/clients/{c.id}/safety/listening",
                         data={"level_dba": "loud", "minutes": "10", "csrf_token": token})
    assert bad.status_code == 422 and "level_dba must be a number" in bad.text


def test_hearing_loss_page_shows_sensitive_mode_and_cap(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "H001", ["hearing_loss"])
    safety_records.add_dose_entry(db_session, actor=nurse, client_id=c.id, level_dba=75.0, duration_s=20 * 3600,
                                  started_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=21))
    db_session.commit()
    page = logged_in.get(f"/clients/{c.id}/safety").text
    assert "cap: 75 dB(A)" in page and "sensitive" in page and re.search(r"50\.0 %", page)


def test_seizure_flag_no_autoplay_anywhere(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "N002", ["nicu_infant", "seizures"])
    for path in (f"/clients/{c.id}/safety", f"/clients/{c.id}/nicu"):
        page = logged_in.get(path).text
        assert "never starts by itself" in page and "triggers" in page
        assert "autoplay" not in page.lower()


def test_calibration_form_and_tone(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "A002", [])
    token = logged_in.csrf(f"/clients/{c.id}/safety")
    assert logged_in.post(f"/clients/{c.id}/safety/calibration",
                          data={"measured_level_dba": "64", "device": "incubator",
                                "csrf_token": token}).status_code == 303
    assert "64.0 dB(A) on incubator" in logged_in.get(f"/clients/{c.id}/safety").text
    bad = logged_in.post(f"/clients/{c.id}/safety/calibration",
                         data={"measured_level_dba": "500", "csrf_token": token})
    assert bad.status_code == 422 and "measured_level_dba" in bad.text
    tone = logged_in.get(f"/clients/{c.id}/safety/tone.wav")
    assert tone.status_code == 200 and tone.headers["content-type"] == "audio/wav"


def test_nicu_page_only_for_nicu_infants(logged_in, db_session, nurse):
    adult = make_client(db_session, nurse, "A003", [])
    assert logged_in.get(f"/clients/{adult.id}/nicu").status_code == 404
    infant = make_client(db_session, nurse, "N003", ["nicu_infant"])
    safety_records.log_stop_events(db_session, actor=nurse, client_id=infant.id,
                                   events=[StopEvent(12.0, "pause", ("desaturation: SpO2 82 % < 88 %",))])
    db_session.commit()
    page = logged_in.get(f"/clients/{infant.id}/nicu").text
    assert "Lmax &le; 65" in page and "desaturation" in page and "lullaby.wav?tune=brahms" in page


def test_nicu_audio_served_within_limits_at_stored_calibration(logged_in, db_session, nurse):
    infant = make_client(db_session, nurse, "N004", ["nicu_infant"])
    safety_records.record_calibration(db_session, actor=nurse, client_id=infant.id, measured_level_dba=70.0)
    db_session.commit()
    cal = Calibration.from_measurement(70.0)
    for path in ("lullaby.wav?tune=au_clair&minutes=0.3", "womb.wav?minutes=0.3"):
        r = logged_in.get(f"/clients/{infant.id}/nicu/{path}")
        assert r.status_code == 200, r.text
        samples, sr = sf.read(io.BytesIO(r.content))
        report = measure_levels(np.asarray(samples), sampling_rate_hz=sr, level_offset_db=cal.level_offset_db,
                                floor_dba=NICU_LIMITS.floor_dba)
        assert check_limits(report) == ()
        assert float(r.headers["X-Cadenza-Leq-dBA"]) <= 45.0
    assert logged_in.get(f"/clients/{infant.id}/nicu/lullaby.wav?minutes=30").status_code == 422


def test_other_therapist_gets_404(browser, db_session, nurse, make_therapist):
    c = make_client(db_session, nurse, "N005", ["nicu_infant"])
    make_therapist("other")
    browser.log_in("other")
    assert browser.get(f"/clients/{c.id}/nicu").status_code == 404
    assert browser.get(f"/clients/{c.id}/safety").status_code == 404


def test_trauma_flag_caution_on_safety_and_nicu_pages(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "N006", ["nicu_infant", "trauma_history"])
    for path in (f"/clients/{c.id}/safety", f"/clients/{c.id}/nicu"):
        page = logged_in.get(path).text
        assert "Trauma history: caution with intense or highly emotional material." in page
    plain = make_client(db_session, nurse, "A006", [])
    assert "Trauma history" not in logged_in.get(f"/clients/{plain.id}/safety").text


def test_sound_dose_json_api(browser, db_session, nurse):
    from cadenza.clinic import auth

    c = make_client(db_session, nurse, "H007", ["hearing_loss"])
    secret, _ = auth.create_api_token(db_session, therapist_id=nurse.id, label="test")
    db_session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=21)).isoformat()
    r = browser.post(f"/api/v1/clients/{c.id}/sound-dose", headers=headers,
                     json={"level_dba": 75.0, "duration_s": 20 * 3600, "started_at": start, "source": "playlist"})
    assert r.status_code == 201, r.text
    assert r.json()["mode"] == "sensitive" and r.json()["dose_percent"] == pytest.approx(50.0, abs=0.01)
    got = browser.get(f"/api/v1/clients/{c.id}/sound-dose", headers=headers).json()
    assert got["policy"]["max_level_dba"] == 75.0
    bad = browser.post(f"/api/v1/clients/{c.id}/sound-dose", headers=headers,
                       json={"level_dba": 75.0, "duration_s": 60, "source": "radio"})
    assert bad.status_code == 422 and "source" in bad.text
    assert browser.post(f"/api/v1/clients/{c.id}/sound-dose", headers=headers,
                        json={"level_dba": 75.0, "duration_s": 60, "therapist_id": 1}).status_code == 422
    assert "/api/v1/clients/{client_id}/sound-dose" in browser.get("/api/v1/openapi.json").json()["paths"]


def test_nicu_thresholds_monitor_and_pal_uploads(logged_in, db_session, nurse):
    infant = make_client(db_session, nurse, "N008", ["nicu_infant"])
    base = f"/clients/{infant.id}/nicu"
    assert "Not set yet" in logged_in.get(base).text
    token = logged_in.csrf(base)
    form = {"hr_min_bpm": "110", "hr_max_bpm": "180", "spo2_min_pct": "90", "rr_min_bpm": "25", "rr_max_bpm": "70"}
    assert logged_in.post(f"{base}/thresholds", data={**form, "csrf_token": token}).status_code == 303
    bad = logged_in.post(f"{base}/thresholds", data={**form, "spo2_min_pct": "0.9", "csrf_token": token})
    assert bad.status_code == 422 and "spo2_min_pct" in bad.text
    vitals = "time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm\n" + "".join(
        f"{t},{150 if t < 20 else 105},96,45\n" for t in range(40))
    r = logged_in.post(f"{base}/monitor", data={"csrf_token": token},
                       files={"vitals": ("v.csv", vitals.encode(), "text/csv")})
    assert r.status_code == 303
    page = logged_in.get(base).text
    assert "bradycardia: heart rate 105 &lt; 110" in page  # the stored threshold was used
    p, _ = simulate_suck_pressure(duration_s=60, sampling_rate_hz=50)
    pressure = "time_s,pressure_mmhg\n" + "".join(f"{i / 50:.2f},{v:.3f}\n" for i, v in enumerate(p))
    r = logged_in.post(f"{base}/pal", data={"csrf_token": token, "pressure_text": pressure, "criterion_mmhg": "20"})
    assert r.status_code == 303, r.text
    (row,) = safety_records.list_pal_summaries(db_session, actor=nurse, client_id=infant.id)
    assert row.criterion_sucks > 0 and row.duration_s == pytest.approx(60.0, abs=0.1)
    empty = logged_in.post(f"{base}/monitor", data={"csrf_token": token, "vitals_text": ""})
    assert empty.status_code == 422
    # Two rows 10^10 s apart would make the engine step through 10^10 ticks: refused at once, nothing logged.
    stored = len(safety_records.list_stop_events(db_session, actor=nurse, client_id=infant.id))
    huge = logged_in.post(f"{base}/monitor", data={"csrf_token": token,
                                                   "vitals_text": "time_s,heart_rate_bpm\n0,150\n1e10,150\n"})
    assert huge.status_code == 422 and "24 h" in huge.text
    assert len(safety_records.list_stop_events(db_session, actor=nurse, client_id=infant.id)) == stored


def test_pal_upload_refused_for_seizure_flag(logged_in, db_session, nurse):
    infant = make_client(db_session, nurse, "N009", ["nicu_infant", "seizures"])
    base = f"/clients/{infant.id}/nicu"
    page = logged_in.get(base).text
    assert "forbid auto-play" in page and 'action="/clients/%d/nicu/pal"' % infant.id not in page
    token = logged_in.csrf(base)
    r = logged_in.post(f"{base}/pal", data={"csrf_token": token,
                                            "pressure_text": "time_s,pressure_mmhg\n0,1\n0.02,30\n0.04,1\n"})
    assert r.status_code == 422 and "auto-play" in r.text
