"""The home programme's workflows on real music (../shared/data/music): the gain cap per track for the
listener, red flags, NICU refusal, completions stored once with their listening time in the dose
ledger, and adherence with its alerts."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ConflictError, NotFoundError, ParameterError
from cadenza.tools.home import actions, records


def _scan(db, actor, client, paths):
    """Tracks in the client's library pointing at real files (the analysis is the library tool's job)."""
    from cadenza.tools.library import records as lr
    from cadenza.io.library_files import ScannedTrack, ScanReport
    from cadenza.io.tags import TrackTags
    from cadenza.music.analysis import TrackAnalysis

    scanned = []
    for i, path in enumerate(paths):
        analysis = TrackAnalysis(duration_s=30.0, tempo_bpm=80.0 + 10 * i, tempo_confidence=0.9,
                                 beat_times_s=np.arange(0, 5, 0.75), integrated_loudness_lufs=-20.0,
                                 loudness_range_lu=3.0, brightness_hz=700.0, onset_rate_hz=1.5, energy=0.2 + 0.1 * i,
                                 key="C", mode="major", mode_confidence=0.5)
        scanned.append(ScannedTrack(str(path), path.stat().st_size, 1, "new", content_sha256=f"{i + 1:064x}",
                                    tags=TrackTags(title=f"Song {i}"), analysis=analysis, decoded=True))
    lr.store_scan(db, actor=actor, client_id=client.id, report=ScanReport(tracks=scanned))
    return [t.id for t in lr.list_tracks(db, actor=actor, client_id=client.id)]


@pytest.fixture
def music(shared_data):
    return [shared_data("music", "audio", f"dev00{i}.flac") for i in (1, 2, 3)]


@pytest.fixture
def listening(db_session, therapist, client_record, music):
    track_ids = _scan(db_session, therapist, client_record, music)
    task = actions.assign_task(db_session, actor=therapist, client=client_record, kind="listening", title="Evening music",
                               days_per_week=7, minutes=20, ratings=["vas_anxiety", "mood"], track_ids=track_ids,
                               start_date=dt.date.today() - dt.timedelta(days=27))
    invitation = actions.invite(db_session, actor=therapist, client=client_record)
    device, _ = records.redeem_invite(db_session, token=invitation.token, pin="2580")
    return task, device, track_ids


def test_each_tracks_gain_cap_keeps_it_at_or_below_the_listeners_ceiling(db_session, client_record, listening):
    from cadenza.io.audio import load_audio
    from cadenza.render.levels import measure_levels

    task, device, track_ids = listening
    policy, calibration = actions.listener(db_session, client_record)
    for track_id in track_ids:
        gain = task.music["gains"][str(track_id)]
        assert 0 < gain <= 1
        audio = load_audio(actions.track_file(db_session, device, task, track_id))
        capped = measure_levels(audio.samples * gain, sampling_rate_hz=audio.sampling_rate_hz,
                                level_offset_db=calibration.level_offset_db)
        assert capped.leq_dba <= policy.max_level_dba + 0.01
    assert actions.task_gain_cap(task) == max(task.music["gains"].values())


def test_a_hearing_loss_flag_lowers_the_cap(db_session, therapist, client_record, music, listening):
    task, _, track_ids = listening
    service.update_client(db_session, actor=therapist, client_id=client_record.id, safety_flags=["hearing_loss"])
    flagged = actions.assign_task(db_session, actor=therapist, client=client_record, kind="listening", title="Quieter",
                                  days_per_week=3, minutes=10, ratings=[], track_ids=track_ids)
    policy, _ = actions.listener(db_session, client_record)
    assert policy.max_level_dba < 80
    for key, gain in flagged.music["gains"].items():
        assert gain <= task.music["gains"][key] + 1e-9


def test_red_flagged_tracks_are_never_assigned_or_played(db_session, therapist, client_record, listening):
    from cadenza.tools.library import records as lr

    task, device, track_ids = listening
    lr.flag_red(db_session, actor=therapist, client_id=client_record.id, track_id=track_ids[0], reason="upsetting")
    with pytest.raises(ParameterError, match="red-flagged"):
        actions.assign_task(db_session, actor=therapist, client=client_record, kind="listening", title="x",
                            days_per_week=3, minutes=10, ratings=[], track_ids=track_ids[:1])
    # Flagged after the task was assigned: left out of the player and refused as a file.
    assert track_ids[0] not in [t.id for t in actions.task_tracks(db_session, device, task)]
    with pytest.raises(NotFoundError):
        actions.track_file(db_session, device, task, track_ids[0])


def test_home_programmes_are_refused_for_nicu_infants(db_session, therapist, client_record):
    service.update_client(db_session, actor=therapist, client_id=client_record.id, safety_flags=["nicu_infant"])
    with pytest.raises(ParameterError, match="NICU"):
        actions.invite(db_session, actor=therapist, client=client_record)
    with pytest.raises(ParameterError, match="NICU"):
        actions.assign_task(db_session, actor=therapist, client=client_record, kind="ras_walk", title="x",
                            days_per_week=3, minutes=10, ratings=[], tempo_bpm=100)


def _payload(task, **extra):
    return {"client_uuid": str(uuid.uuid4()), "task_id": task.id,
            "completed_at": dt.datetime.now(dt.UTC).isoformat(), "played_s": 600.0,
            "max_gain": actions.task_gain_cap(task), "before": {"vas_anxiety": 60, "mood": 4},
            "after": {"vas_anxiety": 30, "mood": 6}, **extra}


def test_a_completion_sent_twice_is_stored_once_with_one_dose_entry(db_session, listening):
    from cadenza.clinic.listening import SoundDoseEntry

    task, device, _ = listening
    payload = _payload(task)
    first, new = actions.record_completion(db_session, device, payload)
    again, repeated = actions.record_completion(db_session, device, dict(payload))
    assert new and not repeated and first.id == again.id
    doses = db_session.scalars(select(SoundDoseEntry).where(SoundDoseEntry.client_id == device.client_id)).all()
    assert len(doses) == 1 and doses[0].duration_s == 600.0 and doses[0].source == "playlist"
    policy, _ = actions.listener(db_session, records.client_of_device(db_session, device))
    assert doses[0].level_dba <= policy.max_level_dba + 0.01


@pytest.mark.parametrize("change, message", [
    ({"max_gain": 1.5}, "max_gain"), ({"played_s": -1}, "played_s"), ({"before": {"vas_anxiety": 101}}, "before"),
    ({"after": {"nrs_pain": 3}}, "does not ask"), ({"client_uuid": "not-a-uuid"}, "client_uuid"),
    ({"completed_at": "2026-13-01"}, "completed_at"), ({"completed_at": "2026-12-01T10:00:00"}, "offset"),
    ({"played_s": float("nan")}, "played_s"), ({"task_id": 999999}, "task"),
])
def test_bad_completions_are_refused_naming_what_was_wrong(db_session, listening, change, message):
    task, device, _ = listening
    if "max_gain" in change and change["max_gain"] <= actions.task_gain_cap(task):
        pytest.skip("the cap is above this value")
    with pytest.raises((ParameterError, NotFoundError), match=message):
        actions.record_completion(db_session, device, _payload(task, **change))


def test_adherence_counts_days_and_alerts_on_missed_days_and_worse_after(db_session, client_record, listening):
    task, device, _ = listening
    today = dt.date.today()
    for days_ago, after_anxiety in ((20, 30), (10, 30), (2, 80)):  # the last one: worse after than before
        when = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(18), tzinfo=dt.UTC)
        actions.record_completion(db_session, device, _payload(task, completed_at=when.isoformat(),
                                                               after={"vas_anxiety": after_anxiety, "mood": 5}))
    result = actions.adherence(db_session, client_record, today=today)
    row = next(r for r in result.tasks if r.task.id == task.id)
    assert row.planned == 28 and row.done == 3
    assert row.percent == pytest.approx(100 * 3 / 28)
    assert row.change["vas_anxiety"] == pytest.approx(((30 - 60) * 2 + (80 - 60)) / 3)
    assert row.worse_after == 1
    assert any("done on 1 of 7" in alert for alert in result.alerts)
    assert any("worse after" in alert for alert in result.alerts)


def test_invitations_work_once_and_expire(db_session, therapist, client_record):
    invitation = actions.invite(db_session, actor=therapist, client=client_record)
    records.redeem_invite(db_session, token=invitation.token, pin="2580")
    with pytest.raises(NotFoundError):
        records.redeem_invite(db_session, token=invitation.token, pin="2580")
    late = actions.invite(db_session, actor=therapist, client=client_record)
    with pytest.raises(NotFoundError):
        records.redeem_invite(db_session, token=late.token, pin="2580",
                              now=dt.datetime.now(dt.UTC) + records.INVITE_LIFETIME + dt.timedelta(seconds=1))
    with pytest.raises(NotFoundError):
        records.redeem_invite(db_session, token="guessed-token", pin="2580")


def test_the_client_page_and_the_progress_report_show_adherence_and_alerts(db_session, web_browser, therapist,
                                                                          client_record, listening):
    from cadenza.web.routes import client_tool
    from cadenza.tools.home import TOOL

    task, device, _ = listening
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    actions.record_completion(db_session, device, _payload(task, completed_at=when.isoformat(),
                                                           after={"vas_anxiety": 90, "mood": 2}))
    db_session.commit()
    lines = client_tool(TOOL).overview_lines(db_session, client_record)
    assert lines[0].startswith("1 home task(s), 1 device(s); last 4 weeks: done on 1 of 28 planned days")
    assert any(line.startswith("Alert:") and "worse after" in line for line in lines)
    assert web_browser.log_in(therapist.username).status_code == 303
    for path in (f"/clients/{client_record.id}", f"/clients/{client_record.id}/report"):
        page = web_browser.get(path).text
        assert "done on 1 of 28 planned days" in page and "worse after" in page, path


def test_the_fhir_export_carries_the_care_plan_and_each_completion(db_session, therapist, client_record, listening):
    import json

    from cadenza.clinic import fhir

    task, device, _ = listening
    first, _ = actions.record_completion(db_session, device, _payload(task))
    bundle = json.loads(fhir.export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    resources = {(e["resource"]["resourceType"], e["resource"]["id"]): e["resource"] for e in bundle["entry"]}
    plan = resources[("CarePlan", f"home-programme-{client_record.id}")]
    activity = plan["activity"][0]["detail"]
    assert activity["code"]["text"] == "Evening music" and activity["status"] == "in-progress"
    assert activity["scheduledTiming"]["repeat"]["frequency"] == 7
    done = resources[("Observation", f"home-completion-{first.id}")]
    assert done["basedOn"] == [{"reference": f"CarePlan/home-programme-{client_record.id}"}]
    values = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in done["component"]}
    assert values == {"vas_anxiety-before": 60, "mood-before": 4, "vas_anxiety-after": 30, "mood-after": 6}
    assert done["valueQuantity"]["value"] == 10.0  # 600 s played
    known = {f"{kind}/{rid}" for kind, rid in resources}
    for ref in (plan["subject"]["reference"], done["subject"]["reference"], done["basedOn"][0]["reference"]):
        assert ref in known


def test_the_persons_player_shows_the_therapists_corrected_tempo(db_session, therapist, client_record, listening):
    from cadenza.tools.library import records as lr

    task, device, track_ids = listening
    lr.correct_tempo(db_session, actor=therapist, client_id=client_record.id, track_id=track_ids[0], how="halve")
    shown = {t.id: t.tempo_bpm for t in actions.task_tracks(db_session, device, task)}
    assert shown[track_ids[0]] == 40.0 and shown[track_ids[1]] == 90.0


# --- tasks another tool provides: tapping (issue 18) --------------------------------------------------------
# The timing tool provides the kind through its manifest, the therapist prescribes it, the person's phone
# sends the beats and taps (audio clock), and the figures are stored as the completion's scores and as
# measurements on the client's record that count towards goals; calibrated with the device's stored
# calibration when the timing tool has one, said to be uncalibrated otherwise.

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


def _tap_result(task, offsets_ms, *, start_s: float = 12.345):
    cues = [start_s + k * PERIOD_S for k in range(task.music["n_beats"])]
    lead = task.music["lead_in_beats"]
    taps = [cue + offsets_ms[k - lead] / 1000 for k, cue in enumerate(cues) if k >= lead and k - lead < len(offsets_ms)]
    return {"cue_times_s": cues, "tap_times_s": taps}


def _tap_payload(task, result, **extra):
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
    payload = _tap_payload(task, _tap_result(task, offsets))
    row, new = actions.record_completion(db_session, device, payload)
    assert new
    scores = row.scores
    assert scores["n_hits"] == 30 and scores["calibrated"] is False
    assert scores["mean_asynchrony_ms"] == pytest.approx(np.mean(offsets), abs=0.1)
    assert scores["asynchrony_sd_ms"] == pytest.approx(np.std(offsets, ddof=1), abs=0.1)
    assert "not checked" in scores["summary"] and "before the beat" in scores["summary"]
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
    from cadenza.tools.home import fhir as home_fhir

    plan = next(r for r in home_fhir.resources(db_session, client_record, "p1") if r["resourceType"] == "CarePlan")
    assert plan["activity"][0]["detail"]["code"]["coding"][0]["display"] == "Tap along to a beat (timing) at home"


def test_the_device_calibration_is_used_when_the_timing_tool_has_one(db_session, client_record, tapping):
    from cadenza.tools.timing import records as timing

    task, device = tapping
    timing.store_calibration(db_session, client=client_record, device="clinic tablet", measured_by="test",
                             result=SimpleNamespace(latency_ms=300.0, residual_ms=0.5, snr_db=40.0), sampling_rate_hz=48_000)
    other, _ = actions.record_completion(db_session, device, _tap_payload(task, _tap_result(task, [-30.0] * 30)))
    assert other.scores["calibrated"] is False  # another device's latency is not this phone's
    loop = timing.store_calibration(db_session, client=client_record, device="Rosa's phone", measured_by="test",
                                    result=SimpleNamespace(latency_ms=100.0, residual_ms=0.5, snr_db=40.0),
                                    sampling_rate_hz=48_000)
    timing.store_tap_offset(db_session, client=client_record, calibration_id=loop.id,
                            offset=SimpleNamespace(offset_ms=20.0, residual_ms=1.0))
    row, _ = actions.record_completion(db_session, device, _tap_payload(task, _tap_result(task, [-30.0] * 30)))
    # heard beat = scheduled + 100 ms; a tap is heard 20 ms after it is stamped: -30 - 100 - 20
    assert row.scores["calibrated"] is True and row.scores["mean_asynchrony_ms"] == pytest.approx(-150.0, abs=0.01)
    assert "not checked" not in row.scores["summary"]


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
        actions.record_completion(db_session, device, _tap_payload(task, result))
    assert records.client_completions(db_session, client_record.id) == []
    assert db_session.scalars(select(Measurement).where(Measurement.client_id == client_record.id)).all() == []


def test_too_few_taps_is_a_completion_without_measurements(db_session, client_record, tapping):
    task, device = tapping
    row, _ = actions.record_completion(db_session, device, _tap_payload(task, _tap_result(task, [0.0])))
    assert row.scores["n_hits"] < 2 and "not find enough taps" in row.scores["summary"]
    assert "session_id" not in row.scores
    assert db_session.scalars(select(Measurement).where(Measurement.client_id == client_record.id)).all() == []


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shift_s=st.floats(0.0, 5000.0), offset_ms=st.floats(-200.0, 200.0))
def test_a_known_asynchrony_is_recovered_wherever_the_audio_clock_stands(db_session, client_record, tapping,
                                                                          shift_s, offset_ms):
    from cadenza.tools.timing.home_tasks import measure_tapping

    task, _ = tapping
    measured = measure_tapping(db_session, client_record, task.music, _tap_result(task, [offset_ms] * 30, start_s=shift_s))
    assert measured["scores"]["mean_asynchrony_ms"] == pytest.approx(offset_ms, abs=0.06)


def test_the_therapist_assigns_it_on_the_page_and_the_person_gets_its_page(db_session, web_browser, therapist,
                                                                          client_record, phone):
    web_browser.log_in(therapist.username)
    page = web_browser.get(f"/clients/{client_record.id}/home")
    assert 'value="tapping"' in page.text and 'name="tapping_tempo_bpm"' in page.text
    assert 'value="singing"' in page.text and 'name="singing_notes"' in page.text
    csrf = web_browser.csrf(f"/clients/{client_record.id}/home")
    form = {"csrf_token": csrf, "kind": "tapping", "title": "Tap along", "days_per_week": "5", "minutes": "5",
            "tapping_tempo_bpm": "600", "tapping_tap_s": "60"}
    refused = web_browser.post(f"/clients/{client_record.id}/home/tasks", data=form)
    assert refused.status_code == 422 and 'id="e-tapping_tempo_bpm"' in refused.text
    assert web_browser.post(f"/clients/{client_record.id}/home/tasks",
                            data={**form, "tapping_tempo_bpm": "90"}).status_code == 303
    task = records.client_tasks(db_session, client_record.id)[-1]
    assert task.kind == "tapping" and task.music["tempo_bpm"] == 90.0
    assert "90.0 beats per minute, 60 s per go" in web_browser.get(f"/clients/{client_record.id}/home").text
    person = phone(therapist, client_record)
    html = person.get(f"/me/tasks/{task.id}").text
    assert 'id="tap-start"' in html and 'src="/me/kinds/tapping.js"' in html and "not a cure" in html
    assert person.get("/me/kinds/tapping.js").headers["content-type"].startswith("text/javascript")
    assert person.get("/me/kinds/listening.js").status_code == 404
    sing = actions.assign_task(db_session, actor=therapist, client=client_record, kind="singing", title="Sing",
                               days_per_week=3, minutes=5, ratings=[], kind_values={"notes": "C4 E4"})
    db_session.commit()
    html = person.get(f"/me/tasks/{sing.id}").text
    assert 'id="sing-start"' in html and 'src="/me/kinds/singing.js"' in html and 'data-notes="60.0 64.0"' in html
    assert person.get("/me/kinds/singing.js").status_code == 200
    sent = person.post("/me/completions", json=_tap_payload(task, _tap_result(task, [-20.0] * 80), before={}, after={}),
                       headers={"x-csrf-token": person.device_csrf})
    assert sent.status_code == 201, sent.text[-3000:]
    shown = web_browser.get(f"/clients/{client_record.id}/home").text
    assert "Last go (" in shown and "uncalibrated" in shown and "timing mean asynchrony ms -20.0" in shown
    assert "20 ms before the beat" in sent.json()["scores"]["summary"]


# --- singing (issue 18): the singing tool provides the kind ---------------------------------------------------

def _sung(midis, *, note_s: float = 0.5, rate: int = 16_000, lead_s: float = 0.2) -> str:
    """A voice-like try at the notes (harmonics, 5 Hz vibrato of +-20 cents), as the page's base64 16-bit PCM."""
    import base64

    t = np.arange(int(note_s * rate)) / rate
    parts = [np.zeros(int(lead_s * rate))]
    for midi in midis:
        f = 440 * 2 ** ((midi - 69) / 12) * 2 ** (0.2 / 12 * np.sin(2 * np.pi * 5 * t))
        phase = 2 * np.pi * np.cumsum(f) / rate
        parts.append(0.3 * sum(np.sin(k * phase) / k for k in (1, 2, 3)) * np.minimum(1, np.minimum(t, t[::-1]) / 0.03))
    pcm = (np.concatenate(parts + [np.zeros(int(lead_s * rate))]) * 32767).astype("<i2")
    return base64.b64encode(pcm.tobytes()).decode()


def test_a_sung_phrase_is_scored_and_stored_as_measurements(db_session, therapist, client_record):
    task = actions.assign_task(db_session, actor=therapist, client=client_record, kind="singing", title="Sing it back",
                               days_per_week=3, minutes=5, ratings=[], kind_values={"notes": "C4 E4 G4", "note_s": "0.5"})
    assert task.music["target_midi"] == [60.0, 64.0, 67.0] and 0 < task.music["gain_cap"] <= 1
    for values, field in (({"notes": "H4"}, "singing_"), ({"notes": "C1"}, "singing_notes"),
                          ({"notes": "C4", "note_s": "800"}, "singing_note_s"), ({"notes": "C4 " * 100}, "singing_notes")):
        with pytest.raises(ParameterError, match=field):
            actions.assign_task(db_session, actor=therapist, client=client_record, kind="singing", title="x",
                                days_per_week=1, minutes=1, ratings=[], kind_values=values)
    device, _ = records.redeem_invite(db_session, token=actions.invite(db_session, actor=therapist,
                                                                       client=client_record).token, pin="2580")
    # sung an octave lower (counts) with the last note a semitone flat (does not)
    result = {"pcm_b64": _sung([48, 52, 54]), "sampling_rate_hz": 16_000}
    row, _ = actions.record_completion(db_session, device, {**_tap_payload(task, result, before={}, after={}),
                                                            "max_gain": task.music["gain_cap"]})
    assert row.scores["n_in_tune"] == 2 and row.scores["within_50_cents_pct"] == pytest.approx(66.7, abs=0.1)
    assert "2 of 3 notes" in row.scores["summary"]
    stored = {m.instrument_code: m.value for m in db_session.scalars(
        select(Measurement).where(Measurement.client_id == client_record.id))}
    assert stored["sing_within_50_cents_pct"] == pytest.approx(66.7, abs=0.1) and "sing_max_phonation_s" in stored
    assert db_session.get(TherapySession, row.scores["session_id"]).intervention_code == "therapeutic_singing"
    for bad, problem in (({"pcm_b64": "%%%", "sampling_rate_hz": 16_000}, "base64"),
                         ({"pcm_b64": "AAAA", "sampling_rate_hz": 16_000}, "even number"),
                         ({"pcm_b64": "AAAA", "sampling_rate_hz": 12_345}, "sampling_rate_hz")):
        with pytest.raises(ParameterError, match=problem):
            actions.record_completion(db_session, device, _tap_payload(task, bad, before={}, after={}))
    silent = {"pcm_b64": base64_silence(0.2), "sampling_rate_hz": 16_000}
    quiet, _ = actions.record_completion(db_session, device, _tap_payload(task, silent, before={}, after={}))
    assert "could not hear you" in quiet.scores["summary"] and "session_id" not in quiet.scores


def base64_silence(seconds: float, rate: int = 16_000) -> str:
    import base64

    return base64.b64encode(np.zeros(int(seconds * rate), dtype="<i2").tobytes()).decode()


# What the person records at home is client-recorded, not a session the therapist held (migration
# 0042_session_source): linked to its completion, counted in goals, never a note to sign (dashboard list and
# counts, client list), not signable or amendable, labelled on the record, and patient-reported in the FHIR
# export; the therapist's own home visit (setting "home") stays a note to sign.

HOME_DAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def home_and_visit(db_session, therapist, client_record, tapping_go):
    """The go's client-recorded session, and the therapist's own home visit the same day (a draft)."""
    _, _, completion = tapping_go
    visit = service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=HOME_DAY,
                                   minutes=45, intervention_code="ras_gait_training", setting="home",
                                   objective="Walked the hallway with the cue.",
                                   measurements=[MeasurementInput("gait_speed", value=0.7)])
    db_session.commit()
    return db_session.get(TherapySession, completion.session_id), visit, completion


def test_a_go_at_home_is_client_recorded_counts_in_goals_and_is_never_a_note_to_sign(
        db_session, therapist, client_record, home_and_visit):
    from cadenza.clinic import caseload, dashboard

    recorded, visit, completion = home_and_visit
    assert recorded.source == "client_recorded" and recorded.is_client_recorded and recorded.setting == "home"
    assert completion.scores["session_id"] == recorded.id and recorded.therapist_id == therapist.id
    assert visit.source == "therapist" and not visit.is_client_recorded
    # the notes to sign, the dashboard's day and recent lists, and the client list's count: the visit only
    assert [r.session.id for r in dashboard.unsigned_sessions(db_session, actor=therapist)] == [visit.id]
    assert [r.session.id for r in dashboard.sessions_on(db_session, actor=therapist, day=HOME_DAY)] == [visit.id]
    assert [r.session.id for r in dashboard.recent_sessions(db_session, actor=therapist)] == [visit.id]
    page = caseload.find_clients(db_session, actor=therapist, unsigned_only=True)
    assert [(r.client.id, r.unsigned_notes) for r in page.rows] == [(client_record.id, 1)]
    # where a tool offers to store its result on a session, only sessions a therapist held are offered
    assert service.client_sessions(db_session, client=client_record, held_only=True) == [visit]
    assert {s.id for s in service.client_sessions(db_session, client=client_record)} == {recorded.id, visit.id}
    # counted in goals and measurements as before
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id,
                               instrument_code="timing_asynchrony_sd_ms", baseline=60.0, target=20.0)
    overview = dashboard.client_overview(db_session, actor=therapist, client_id=client_record.id)
    status = next(s for s in overview.goals if s.goal.id == goal.id)
    assert status.n_measurements == 1 and status.latest_value == pytest.approx(completion.scores["asynchrony_sd_ms"])
    assert {m.session_id for m in overview.measurements} == {recorded.id, visit.id}
    # nobody signs, amends or adds to it; nothing changes
    version = recorded.version
    for attempt in (lambda: service.sign_session(db_session, actor=therapist, session_id=recorded.id,
                                                 expected_version=version),
                    lambda: service.update_session(db_session, actor=therapist, session_id=recorded.id,
                                                   expected_version=version, assessment="looks good"),
                    lambda: service.add_measurement(db_session, actor=therapist, session_id=recorded.id,
                                                    measurement=MeasurementInput("vas_anxiety", value=30))):
        with pytest.raises(ConflictError, match=f"session {recorded.id} was recorded by the client"):
            attempt()
        db_session.rollback()
    db_session.expire_all()
    again = db_session.get(TherapySession, recorded.id)
    assert (again.version, again.signed_at, again.soap_assessment, len(again.measurements)) == (version, None, "", 4)
    # the exports say who recorded each session
    import csv
    import io

    from cadenza.clinic import export

    by_session = {int(r["session_id"]): (r["signed"], r["source"]) for r in csv.DictReader(io.StringIO(
        export.export_sessions_csv(db_session, actor=therapist, client_id=client_record.id)))}
    assert by_session == {recorded.id: ("no", "client_recorded"), visit.id: ("no", "therapist")}
    values = list(csv.DictReader(io.StringIO(export.export_measurements_csv(db_session, actor=therapist,
                                                                            client_id=client_record.id))))
    assert sorted(r["session_source"] for r in values) == ["client_recorded"] * 4 + ["therapist"]
    # the therapist's home visit is signed as ever, and then nothing is left to sign
    service.sign_session(db_session, actor=therapist, session_id=visit.id, expected_version=visit.version)
    assert dashboard.unsigned_sessions(db_session, actor=therapist) == []
    assert caseload.find_clients(db_session, actor=therapist, unsigned_only=True).rows == []


def test_the_fhir_export_gives_it_as_patient_reported(db_session, therapist, client_record, home_and_visit):
    import json

    from cadenza.clinic import fhir
    from tests.clinic.test_export import assert_references_resolve

    recorded, visit, completion = home_and_visit
    bundle = json.loads(fhir.export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    assert_references_resolve(bundle)
    resources = {(e["resource"]["resourceType"], e["resource"]["id"]): e["resource"] for e in bundle["entry"]}
    patient = {"reference": f"Patient/client-{client_record.id}"}
    # the visit: an Encounter the therapist held, at home
    encounter = resources[("Encounter", f"encounter-{visit.id}")]
    assert encounter["class"]["code"] == "HH" and encounter["participant"][0]["individual"]["display"] == therapist.username
    # the go: no Encounter, the patient performed, recorded and asserts it, the Provenance's author is the patient
    assert ("Encounter", f"encounter-{recorded.id}") not in resources
    procedure = resources[("Procedure", f"procedure-{recorded.id}")]
    assert "encounter" not in procedure
    assert procedure["performer"] == [{"actor": patient}] and procedure["recorder"] == procedure["asserter"] == patient
    observations = [resources[("Observation", f"observation-{m.id}")] for m in recorded.measurements]
    assert len(observations) == 4
    assert all(o["performer"] == [patient] and "encounter" not in o for o in observations)
    provenance = resources[("Provenance", f"provenance-client-recorded-{recorded.id}")]
    assert provenance["agent"][0]["who"] == patient and provenance["agent"][0]["type"]["coding"][0]["code"] == "author"
    assert {t["reference"] for t in provenance["target"]} == {f"Procedure/procedure-{recorded.id}"} | {
        f"Observation/{o['id']}" for o in observations}
    # the completion names the figures it produced
    done = resources[("Observation", f"home-completion-{completion.id}")]
    assert done["hasMember"] == [{"reference": f"Observation/{o['id']}"} for o in observations]
    # the visit's own figures stay the practitioner's
    visit_value = resources[("Observation", f"observation-{visit.measurements[0].id}")]
    assert visit_value["encounter"] == {"reference": f"Encounter/encounter-{visit.id}"}
    assert visit_value["performer"][0]["reference"].startswith("Practitioner/")
    # a go removed as wrong (with a reason) leaves the export, and its completion names nothing that is gone
    from cadenza.clinic import corrections

    corrections.remove_session(db_session, actor=therapist, session_id=recorded.id, expected_version=recorded.version,
                               reason="tapped on the wrong phone")
    bundle = json.loads(fhir.export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    assert_references_resolve(bundle)
    done = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == f"home-completion-{completion.id}")
    assert "hasMember" not in done
    assert not any(e["resource"]["id"].endswith(f"-{recorded.id}") for e in bundle["entry"]
                   if e["resource"]["resourceType"] in ("Procedure", "Provenance"))


def test_the_pages_label_it_and_offer_no_signature(db_session, therapist, client_record, home_and_visit, web_browser):
    import re

    recorded, visit, _ = home_and_visit
    assert web_browser.log_in(therapist.username).status_code == 303
    home = web_browser.get("/").text
    assert "1 note to sign" in home
    todo = home[home.index('id="unsigned"'):]
    todo = todo[:todo.index("</section>")]
    assert f"/sessions/{visit.id}#signature" in todo and f"/sessions/{recorded.id}" not in todo
    hub = web_browser.get(f"/clients/{client_record.id}").text
    assert len(re.findall(r'class="badge client-recorded">client-recorded<', hub)) == 1
    assert len(re.findall(r"draft, to sign", hub)) == 1
    page = web_browser.get(f"/clients/{client_record.id}/sessions/{recorded.id}").text
    assert 'id="client-recorded"' in page and "no note to sign" in page
    assert "/sign" not in page and "/edit" not in page and 'id="add-measurement"' not in page
    refused = web_browser.post(f"/clients/{client_record.id}/sessions/{recorded.id}/sign",
                               data={"csrf_token": web_browser.csrf(f"/clients/{client_record.id}/sessions/{recorded.id}"),
                                     "version": str(recorded.version), "confirm": "yes"})
    assert refused.status_code in (303, 409) and db_session.get(TherapySession, recorded.id).signed_at is None
    report = web_browser.get(f"/clients/{client_record.id}/report").text
    assert "Sessions (1; and 1 recorded by the client at home)" in report
    assert "Sign note" in web_browser.get(f"/clients/{client_record.id}/sessions/{visit.id}").text
