"""Tapping as a home task (issue 18): the timing tool provides the kind through its manifest, the therapist
prescribes it, the person's phone sends the beats and taps (audio clock), and the figures are stored as the
completion's scores and as measurements on the client's record that count towards goals; calibrated with
the device's stored calibration when the timing tool has one, said to be uncalibrated otherwise."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent, Measurement, TherapySession
from cadenza.errors import ParameterError
from cadenza.tools.home import actions, records

TEMPO_BPM = 90.0
PERIOD_S = 60.0 / TEMPO_BPM


@pytest.fixture
def tapping(db_session, therapist, client_record):
    task = actions.assign_task(db_session, actor=therapist, client=client_record, kind="tapping",
                               title="Tap along", days_per_week=5, minutes=5, ratings=["mood"],
                               kind_values={"tempo_bpm": "90", "tap_s": "20"})
    device, _ = records.redeem_invite(db_session, token=actions.invite(db_session, actor=therapist,
                                                                       client=client_record, label="Rosa's phone").token,
                                      pin="2580")
    return task, device


def _result(task, offsets_ms, *, start_s: float = 12.345):
    cues = [start_s + k * PERIOD_S for k in range(task.music["n_beats"])]
    lead = task.music["lead_in_beats"]
    taps = [cue + offsets_ms[k - lead] / 1000 for k, cue in enumerate(cues) if k >= lead and k - lead < len(offsets_ms)]
    return {"cue_times_s": cues, "tap_times_s": taps}


def _payload(task, result, **extra):
    return {"client_uuid": str(uuid.uuid4()), "task_id": task.id, "completed_at": dt.datetime.now(dt.UTC).isoformat(),
            "played_s": 25.0, "max_gain": task.music["gain_cap"], "before": {"mood": 5}, "after": {"mood": 6},
            "result": result, **extra}


def test_the_kind_is_offered_through_the_manifest_and_checked_by_its_tool(db_session, therapist, client_record, tapping):
    task, _ = tapping
    assert "tapping" in actions.offered_kinds() and task.kind == "tapping"
    assert task.music["tempo_bpm"] == TEMPO_BPM and task.music["n_beats"] == 30 + task.music["lead_in_beats"]
    assert 0 < task.music["gain_cap"] <= 1
    for values, field in (({"tempo_bpm": "500"}, "tapping_tempo_bpm"), ({"tempo_bpm": "nan"}, "tapping_tempo_bpm"),
                          ({"tempo_bpm": "90", "tap_s": "2"}, "tapping_tap_s")):
        with pytest.raises(ParameterError, match=field):
            actions.assign_task(db_session, actor=therapist, client=client_record, kind="tapping", title="x",
                                days_per_week=1, minutes=1, ratings=[], kind_values=values)


def test_a_go_is_stored_once_as_a_completion_and_as_measurements_towards_a_goal(db_session, therapist, client_record,
                                                                               tapping, rng):
    task, device = tapping
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, description="Steadier tapping",
                            instrument_code="timing_asynchrony_sd_ms", baseline=60.0, target=20.0)
    offsets = -30.0 + rng.normal(0, 8, 30)
    payload = _payload(task, _result(task, offsets))
    row, new = actions.record_completion(db_session, device, payload)
    assert new
    scores = row.scores
    assert scores["n_hits"] == 30 and scores["calibrated"] is False
    assert scores["mean_asynchrony_ms"] == pytest.approx(np.mean(offsets), abs=0.1)
    assert scores["asynchrony_sd_ms"] == pytest.approx(np.std(offsets, ddof=1), abs=0.1)
    assert "not measured" in scores["summary"] and "before the beat" in scores["summary"]
    stored = db_session.scalars(select(Measurement).where(Measurement.client_id == client_record.id)).all()
    assert {m.instrument_code: m.value for m in stored} == {
        "timing_mean_asynchrony_ms": scores["mean_asynchrony_ms"], "timing_asynchrony_sd_ms": scores["asynchrony_sd_ms"],
        "timing_circular_r": scores["circular_r"], "timing_within_50ms_pct": scores["within_50ms_pct"]}
    home = db_session.get(TherapySession, scores["session_id"])
    assert home.setting == "home" and home.therapist_id == therapist.id and home.intervention_code == "timp"
    assert all(m.session_id == home.id and m.measured_at is not None for m in stored)
    from cadenza.clinic.progress import goal_progress

    progress = goal_progress(db_session, actor=therapist, goal_id=goal.id)
    assert progress.points[-1].value == pytest.approx(scores["asynchrony_sd_ms"], abs=0.05)
    actors = db_session.scalars(select(AuditEvent.actor_username).where(AuditEvent.entity == "measurement",
                                                                        AuditEvent.action == "create")).all()
    assert actors and all(a.startswith("person:") for a in actors)
    # The offline queue sends it again: nothing new, nothing measured twice.
    again, new = actions.record_completion(db_session, device, payload)
    assert not new and again.id == row.id
    assert len(db_session.scalars(select(Measurement).where(Measurement.client_id == client_record.id)).all()) == 4


def test_the_device_calibration_is_used_when_the_timing_tool_has_one(db_session, client_record, tapping):
    from cadenza.tools.timing import records as timing

    task, device = tapping
    loop = timing.store_calibration(db_session, client=client_record, device="Rosa's phone", measured_by="test",
                                    result=SimpleNamespace(latency_ms=100.0, residual_ms=0.5, snr_db=40.0),
                                    sampling_rate_hz=48_000)
    timing.store_tap_offset(db_session, client=client_record, calibration_id=loop.id,
                            offset=SimpleNamespace(offset_ms=20.0, residual_ms=1.0))
    row, _ = actions.record_completion(db_session, device, _payload(task, _result(task, [-30.0] * 30)))
    # heard beat = scheduled + 100 ms; a tap is heard 20 ms after it is stamped: -30 - 100 - 20
    assert row.scores["calibrated"] is True and row.scores["mean_asynchrony_ms"] == pytest.approx(-150.0, abs=0.01)
    assert "not measured" not in row.scores["summary"]


@pytest.mark.parametrize("result, problem", [
    ({"cue_times_s": [1.0, 1.5], "tap_times_s": []}, "ms apart"),
    ({"cue_times_s": "1,2", "tap_times_s": []}, "cue_times_s"),
    ({"cue_times_s": [1.0, float("nan")], "tap_times_s": []}, "cue_times_s"),
    ({"cue_times_s": [1.0, 1 + PERIOD_S], "tap_times_s": [1.0, -5]}, "event_times_s"),
    ({"cue_times_s": [1.0 + k * PERIOD_S for k in range(99)], "tap_times_s": []}, "this task plays"),
    ("<script>", "JSON object"),
])
def test_a_bad_result_is_refused_with_its_reason_and_stores_nothing(db_session, client_record, tapping, result, problem):
    task, device = tapping
    with pytest.raises(ParameterError, match=problem):
        actions.record_completion(db_session, device, _payload(task, result))
    assert records.client_completions(db_session, client_record.id) == []
    assert db_session.scalars(select(Measurement).where(Measurement.client_id == client_record.id)).all() == []


def test_too_few_taps_is_a_completion_without_measurements(db_session, client_record, tapping):
    task, device = tapping
    row, _ = actions.record_completion(db_session, device, _payload(task, _result(task, [0.0])))
    assert row.scores["n_hits"] < 2 and "not find enough taps" in row.scores["summary"]
    assert "session_id" not in row.scores
    assert db_session.scalars(select(Measurement).where(Measurement.client_id == client_record.id)).all() == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shift_s=st.floats(0.0, 5000.0), offset_ms=st.floats(-200.0, 200.0))
def test_a_known_asynchrony_is_recovered_wherever_the_audio_clock_stands(db_session, client_record, tapping,
                                                                          shift_s, offset_ms):
    from cadenza.tools.timing.home_tasks import measure_tapping

    task, _ = tapping
    measured = measure_tapping(db_session, client_record, task.music, _result(task, [offset_ms] * 30, start_s=shift_s))
    assert measured["scores"]["mean_asynchrony_ms"] == pytest.approx(offset_ms, abs=0.06)


def test_the_summaries_are_plain_words(tapping):
    from cadenza.io.speech import load_lexicon
    from cadenza.tools.home.readability import reading_grade
    from cadenza.tools.timing.home_tasks import tapping_summary

    lexicon = load_lexicon()
    texts = [tapping_summary({"n_hits": 1, "n_beats": 30, "calibrated": False}),
             tapping_summary({"n_hits": 28, "n_beats": 30, "mean_asynchrony_ms": -31.2, "within_50ms_pct": 85.7,
                              "calibrated": False}),
             tapping_summary({"n_hits": 30, "n_beats": 30, "mean_asynchrony_ms": 12.0, "within_50ms_pct": 100.0,
                              "calibrated": True})]
    grades = [reading_grade(text, lexicon) for text in texts]
    assert max(grades) <= 8.0, list(zip(grades, texts))


def test_the_therapist_assigns_it_on_the_page_and_the_person_gets_its_page(db_session, web_browser, therapist,
                                                                          client_record, phone):
    web_browser.log_in(therapist.username)
    page = web_browser.get(f"/clients/{client_record.id}/home")
    assert 'value="tapping"' in page.text and 'name="tapping_tempo_bpm"' in page.text
    csrf = web_browser.csrf(f"/clients/{client_record.id}/home")
    form = {"csrf_token": csrf, "kind": "tapping", "title": "Tap along", "days_per_week": "5", "minutes": "5",
            "tapping_tempo_bpm": "600", "tapping_tap_s": "60"}
    refused = web_browser.post(f"/clients/{client_record.id}/home/tasks", data=form)
    assert refused.status_code == 422 and 'id="e-tapping_tempo_bpm"' in refused.text
    assert web_browser.post(f"/clients/{client_record.id}/home/tasks",
                            data={**form, "tapping_tempo_bpm": "90"}).status_code == 303
    task = records.client_tasks(db_session, client_record.id)[-1]
    assert task.kind == "tapping" and task.music["tempo_bpm"] == 90.0
    person = phone(therapist, client_record)
    html = person.get(f"/me/tasks/{task.id}").text
    assert 'id="tap-start"' in html and 'src="/timing/home_tap.js"' in html and "not a cure" in html
    assert person.get("/timing/home_tap.js").headers["content-type"].startswith("text/javascript")
    sent = person.post("/me/completions", json=_payload(task, _result(task, [-20.0] * 80), before={}, after={}),
                       headers={"x-csrf-token": person.device_csrf})
    assert sent.status_code == 201, sent.text[-3000:]
    assert "20 ms before the beat" in sent.json()["scores"]["summary"]
