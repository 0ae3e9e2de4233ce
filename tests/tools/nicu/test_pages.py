"""NICU pages through the web app: flags change what is shown and served; the page reads its infant once."""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pytest
import soundfile as sf

from cadenza.clinic import listening, service
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.nicu.pal import simulate_suck_pressure
from cadenza.nicu.stop_rules import StopEvent
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import Calibration
from cadenza.tools.nicu import records


def make_client(db_session, nurse, code, flags):
    c = service.create_client(db_session, actor=nurse, code=code, safety_flags=flags)
    db_session.commit()
    return c


def test_seizure_flag_no_autoplay(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "N002", ["nicu_infant", "seizures"])
    page = logged_in.get(f"/clients/{c.id}/nicu").text
    assert "never starts by itself" in page and "triggers" in page
    assert "autoplay" not in page.lower()


def test_nicu_page_only_for_nicu_infants(logged_in, db_session, nurse):
    adult = make_client(db_session, nurse, "A003", [])
    assert logged_in.get(f"/clients/{adult.id}/nicu").status_code == 404
    infant = make_client(db_session, nurse, "N003", ["nicu_infant"])
    records.log_stop_events(db_session, actor=nurse, client_id=infant.id,
                            events=[StopEvent(12.0, "pause", ("desaturation: SpO2 82 % < 88 %",))])
    db_session.commit()
    page = logged_in.get(f"/clients/{infant.id}/nicu").text
    assert "Lmax &le; 65" in page and "desaturation" in page and "lullaby.wav?tune=brahms" in page


def test_nicu_audio_served_within_limits_at_stored_calibration(logged_in, db_session, nurse):
    infant = make_client(db_session, nurse, "N004", ["nicu_infant"])
    listening.record_calibration(db_session, actor=nurse, client_id=infant.id, measured_level_dba=70.0)
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


def test_other_therapist_gets_404(web_browser, db_session, nurse, make_therapist):
    c = make_client(db_session, nurse, "N005", ["nicu_infant"])
    make_therapist("other")
    web_browser.log_in("other")
    assert web_browser.get(f"/clients/{c.id}/nicu").status_code == 404
    assert web_browser.get(f"/clients/{c.id}/nicu/womb.wav?minutes=0.05").status_code == 404


def test_trauma_flag_caution(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "N006", ["nicu_infant", "trauma_history"])
    page = logged_in.get(f"/clients/{c.id}/nicu").text
    assert "Trauma history: caution with intense or highly emotional material." in page
    plain = make_client(db_session, nurse, "N016", ["nicu_infant"])
    assert "Trauma history" not in logged_in.get(f"/clients/{plain.id}/nicu").text


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
    (row,) = records.list_pal_summaries(db_session, actor=nurse, client_id=infant.id)
    assert row.criterion_sucks > 0 and row.duration_s == pytest.approx(60.0, abs=0.1)
    empty = logged_in.post(f"{base}/monitor", data={"csrf_token": token, "vitals_text": ""})
    assert empty.status_code == 422
    # Two rows 10^10 s apart would make the engine step through 10^10 ticks: refused at once, nothing logged.
    stored = len(records.list_stop_events(db_session, actor=nurse, client_id=infant.id))
    huge = logged_in.post(f"{base}/monitor", data={"csrf_token": token,
                                                   "vitals_text": "time_s,heart_rate_bpm\n0,150\n1e10,150\n"})
    assert huge.status_code == 422 and "24 h" in huge.text
    assert len(records.list_stop_events(db_session, actor=nurse, client_id=infant.id)) == stored


def test_pal_upload_refused_for_seizure_flag(logged_in, db_session, nurse):
    infant = make_client(db_session, nurse, "N009", ["nicu_infant", "seizures"])
    base = f"/clients/{infant.id}/nicu"
    page = logged_in.get(base).text
    assert "forbid auto-play" in page and 'action="/clients/%d/nicu/pal"' % infant.id not in page
    token = logged_in.csrf(base)
    r = logged_in.post(f"{base}/pal", data={"csrf_token": token,
                                            "pressure_text": "time_s,pressure_mmhg\n0,1\n0.02,30\n0.04,1\n"})
    assert r.status_code == 422 and "auto-play" in r.text


def test_the_page_authorises_the_infant_once(logged_in, db_session, nurse, monkeypatch):
    """The NICU page used to authorise its client 5 times (policy, thresholds, calibration, stop log, PAL);
    it now reads the infant once as a listener and passes it down."""
    from cadenza.clinic import access
    from cadenza.clinic import service as service_module

    infant = make_client(db_session, nurse, "N010", ["nicu_infant"])
    records.log_stop_events(db_session, actor=nurse, client_id=infant.id, events=[StopEvent(0.0, "start", ())])
    db_session.commit()
    calls = []
    for module in (access, service_module):
        authorise = module.get_client_for_actor
        monkeypatch.setattr(module, "get_client_for_actor", lambda *a, _authorise=authorise, **k:
                            calls.append(k.get("client_id")) or _authorise(*a, **k))
    assert logged_in.get(f"/clients/{infant.id}/nicu").status_code == 200
    assert calls == [infant.id]
    calls.clear()
    assert logged_in.get(f"/clients/{infant.id}/nicu/womb.wav?minutes=0.05").status_code == 200
    assert calls == [infant.id]


def test_thresholds_from_the_page_keep_what_the_form_does_not_show(logged_in, db_session, nurse):
    """The form sets the five limits; which vital signs are monitored (set elsewhere) is kept, as on the
    command line (one merge rule, tools/nicu/actions.py)."""
    from cadenza.nicu.stop_rules import InfantThresholds

    infant = make_client(db_session, nurse, "N011", ["nicu_infant"])
    records.set_infant_thresholds(db_session, actor=nurse, client_id=infant.id,
                                  thresholds=InfantThresholds(monitored=("heart_rate_bpm", "spo2_pct")))
    db_session.commit()
    base = f"/clients/{infant.id}/nicu"
    form = {"hr_min_bpm": "110", "hr_max_bpm": "180", "spo2_min_pct": "90", "rr_min_bpm": "25", "rr_max_bpm": "70"}
    assert logged_in.post(f"{base}/thresholds", data={**form, "csrf_token": logged_in.csrf(base)}).status_code == 303
    got = records.get_infant_thresholds(db_session, actor=nurse, client_id=infant.id)
    assert got == InfantThresholds(hr_min_bpm=110.0, spo2_min_pct=90.0, monitored=("heart_rate_bpm", "spo2_pct"))


def test_m1_u2_u6_u8_the_page_records_age_gates_pal_and_labels_its_sources(logged_in, db_session, nurse):
    from cadenza.evidence import get_entry
    from cadenza.nicu.womb import RECORDED_SOUND_CAVEAT

    infant = make_client(db_session, nurse, "N010", ["nicu_infant"])
    base = f"/clients/{infant.id}/nicu"
    page = logged_in.get(base).text.replace("&#39;", "'")
    haslbeck = get_entry("haslbeck2023_preterm")
    assert haslbeck.citation in page and haslbeck.caveat in page  # U2: cited, with its caveat
    assert "little or no effect on most outcomes (low certainty)" not in page  # the unsourced line is gone
    assert RECORDED_SOUND_CAVEAT in page  # U8
    assert "rr_max_bpm: project convention" in page  # U6
    token = logged_in.csrf(base)
    bad = logged_in.post(f"{base}/age", data={"csrf_token": token, "gestational_age": "29+9", "postmenstrual_age": "32+0"})
    assert bad.status_code == 422 and "gestational_age" in bad.text
    today = dt.date.today()
    ok = logged_in.post(f"{base}/age", data={"csrf_token": token, "gestational_age": "29+3",
                                             "postmenstrual_age": "32+0", "assessed_on": today.isoformat()})
    assert ok.status_code == 303
    page = logged_in.get(base).text
    assert "Born at 29+3 weeks" in page and "below 34 weeks" in page and 'name="override_reason"' in page
    p, _ = simulate_suck_pressure(duration_s=20, sampling_rate_hz=50)
    pressure = "time_s,pressure_mmhg\n" + "".join(f"{i / 50:.2f},{v:.3f}\n" for i, v in enumerate(p))
    refused = logged_in.post(f"{base}/pal", data={"csrf_token": token, "pressure_text": pressure})
    assert refused.status_code == 422 and "override_reason" in refused.text
    assert records.list_pal_summaries(db_session, actor=nurse, client_id=infant.id) == []
    kept = logged_in.post(f"{base}/pal", data={"csrf_token": token, "pressure_text": pressure,
                                               "override_reason": "clinician's decision"})
    assert kept.status_code == 303
    assert "clinician's decision" in logged_in.get(base).text.replace("&#39;", "'")


def test_walkthrough_p8_the_pages_own_cue_wording_is_taken_and_a_bad_csv_keeps_the_text(logged_in, db_session, nurse):
    infant = make_client(db_session, nurse, "N009", ["nicu_infant"])
    page = f"/clients/{infant.id}/nicu"
    token = re.search(r'name="csrf_token" value="([^"]+)"', logged_in.get(page).text).group(1)
    pasted = "time_s,heart_rate_bpm,spo2_pct,cue\n0,140,97,\n20,141,97,finger splay; Colour change\n40,140,97,\n"
    done = logged_in.post(f"{page}/monitor", data={"csrf_token": token, "vitals_text": pasted})
    assert done.status_code == 303, done.text
    assert "stress cue &#39;colour_change&#39;" in logged_in.get(page).text  # a stop cue, as written on the page
    bad = pasted.replace("finger splay", "wriggling")
    refused = logged_in.post(f"{page}/monitor", data={"csrf_token": token, "vitals_text": bad})
    assert refused.status_code == 422
    assert "Check a monitored session" in refused.text and "unknown stress cue &#39;wriggling&#39;" in refused.text
    assert "wriggling" in re.search(r'<textarea id="f-vitals_text"[^>]*>([^<]*)</textarea>', refused.text).group(1)
