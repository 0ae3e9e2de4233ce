"""The person checks their own phone's sound delay (/me/sound-check): the phone's recording of the test signal is
measured on the server and kept under the phone's name, where the tapping task finds it; audited with the phone
as the actor; a recording without the signal stores nothing."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import numpy as np
import pytest
from sqlalchemy import select

from cadenza.clinic.models import AuditEvent
from cadenza.timing.latency import make_loopback_signal
from cadenza.tools.home import actions as home
from cadenza.tools.home.records import TaskCompletion
from cadenza.tools.timing.records import TimingCalibration

RATE = 48_000
PLAYED_AT_S = 10.2   # the audio-clock time the page scheduled the signal
CAPTURE_START_S = 10.0
TEMPO_BPM = 100


def _capture(delay_ms: float, *, with_signal: bool = True, rng=None) -> bytes:
    """What the microphone heard from CAPTURE_START_S: the test signal ``delay_ms`` after it was scheduled."""
    rng = rng or np.random.default_rng(7)
    signal, _, _ = make_loopback_signal(sampling_rate_hz=RATE)
    audio = 0.002 * rng.standard_normal(int(4.5 * RATE))
    at = int(round((PLAYED_AT_S - CAPTURE_START_S + delay_ms / 1000) * RATE))
    if with_signal:
        audio[at:at + signal.size] += 0.5 * signal
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def _check(phone, data: bytes | None, *, csrf=None):
    files = {"capture": ("capture.pcm", data, "application/octet-stream")} if data is not None else None
    fields = {"played_at_s": f"{PLAYED_AT_S:.6f}", "sampling_rate_hz": str(RATE),
              "capture_start_s": f"{CAPTURE_START_S:.6f}"}
    return phone.post("/me/sound-check", data=fields, files=files,
                      headers={"x-csrf-token": phone.device_csrf if csrf is None else csrf})


@pytest.fixture
def rosa(db_session, make_therapist):
    ann = make_therapist("ann")
    from cadenza.clinic import service

    client = service.create_client(db_session, actor=ann, code="rosa.s")
    other = service.create_client(db_session, actor=ann, code="omar.s")
    task = home.assign_task(db_session, actor=ann, client=client, kind="tapping", title="Tap with the beat",
                            days_per_week=5, minutes=5, ratings=[], kind_values={"tempo_bpm": TEMPO_BPM, "tap_s": 10})
    db_session.commit()
    return {"ann": ann, "client": client, "other": other, "task": task}


def test_the_phone_measures_its_own_delay_and_the_tapping_task_uses_it(rosa, phone, db_session):
    mine = phone(rosa["ann"], rosa["client"])
    page = mine.get("/me/sound-check")
    assert page.status_code == 200 and 'data-stored="none"' in page.text
    signal = mine.get("/me/sound-check/test.wav?rate=44100")
    assert signal.status_code == 200 and signal.content[:4] == b"RIFF"

    answer = _check(mine, _capture(87.5))
    assert answer.status_code == 200, answer.text
    latency_ms = float(re.search(r'data-latency-ms="([0-9.]+)"', answer.text)[1])
    assert latency_ms == pytest.approx(87.5, abs=0.5)
    db_session.expire_all()
    row = db_session.scalar(select(TimingCalibration))
    assert row.client_id == rosa["client"].id and row.device.startswith("person:device-")
    audited = db_session.scalar(select(AuditEvent).where(AuditEvent.entity == "timing_calibration"))
    assert audited.actor_username == row.device and audited.client_id == rosa["client"].id
    assert "87 ms" in mine.get("/me/sound-check").text or "88 ms" in mine.get("/me/sound-check").text

    # A go of the tapping task from this phone counts the delay: every tap 30 ms after a beat *as heard*.
    beats = [100.0 + i * 60 / TEMPO_BPM for i in range(int(rosa["task"].music["n_beats"]))]
    lead = int(rosa["task"].music["lead_in_beats"])
    taps = [b + latency_ms / 1000 + 0.030 for b in beats[lead:]]
    stored = mine.post("/me/completions", headers={"x-csrf-token": mine.device_csrf}, json={
        "client_uuid": str(uuid.uuid4()), "task_id": rosa["task"].id,
        "completed_at": dt.datetime.now(dt.UTC).isoformat(), "played_s": 20, "max_gain": 0.1,
        "before": {}, "after": {}, "result": {"cue_times_s": beats, "tap_times_s": taps}})
    assert stored.status_code == 201, stored.text
    db_session.expire_all()
    scores = db_session.scalar(select(TaskCompletion)).scores
    assert scores["calibrated"] is True and scores["latency_ms"] == pytest.approx(latency_ms, abs=1e-3)
    assert scores["mean_asynchrony_ms"] == pytest.approx(30.0, abs=1.0)


def test_a_recording_without_the_signal_or_without_a_recording_stores_nothing(rosa, phone, db_session):
    mine = phone(rosa["ann"], rosa["client"])
    silent = _check(mine, _capture(0, with_signal=False))
    assert silent.status_code == 422 and "too weak" in silent.text and 'data-stored="no"' in silent.text
    missing = _check(mine, None)
    assert missing.status_code == 422 and "capture is missing" in missing.text
    odd = _check(mine, b"\x00\x01\x02")
    assert odd.status_code == 422 and "16-bit PCM" in odd.text
    forged = _check(mine, _capture(50), csrf="forged")
    assert forged.status_code == 403
    db_session.expire_all()
    assert db_session.scalar(select(TimingCalibration)) is None


def test_each_phone_keeps_its_own_delay(rosa, phone, db_session):
    mine, theirs = phone(rosa["ann"], rosa["client"]), phone(rosa["ann"], rosa["other"])
    assert _check(mine, _capture(120.0)).status_code == 200
    assert 'data-stored="none"' in theirs.get("/me/sound-check").text


def test_the_page_is_plain_words():
    from cadenza.io.speech import load_lexicon
    from cadenza.tools.home.readability import reading_grade

    text = ("Every phone plays sound a little late. Headphones that use Bluetooth add more. If we know the delay, "
            "your tapping results are right. Go to a quiet room. Use the same sound you tap with: the speaker, or "
            "the same headphones held near the phone. Press Start. The phone plays a short sound and listens for "
            "it. It asks to use the microphone.")
    from pathlib import Path

    import cadenza.tools.timing as timing

    page = (Path(timing.__file__).parent / "templates" / "timing" / "me_sound_check.html").read_text()
    flat = " ".join(page.split())
    assert all(" ".join(sentence.split()) in flat for sentence in text.split(". ")), "the test's copy is stale"
    assert reading_grade(text, load_lexicon(synthesiser_stress=False)) <= 8.0
