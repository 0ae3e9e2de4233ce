"""Live cueing in real headless Chromium: a real lower-back recording replayed as DeviceMotion events.

A 10 s stretch of a lab recording (../shared/data/gait/mobgap_lab; the stretch with the most steps of the
healthy adults' daily-living course, chosen by that rule, not by the result) is dispatched as
``devicemotion`` events at its recorded times. The page streams the samples to the server, which finds the
steps and answers with beats; the page schedules them on the Web Audio clock. Midway the WebSocket is cut
for 2 s: the cue goes on at a steady tempo, the page reconnects and re-sends what was not acknowledged.
Checked: the walk's stored steps against the offline detector on the same samples (F1 >= 0.95), the delay
from a step's release (its time + the detector's 2 s look-ahead) to the reply that used it (p95 <= 150 ms),
the beats' placement on the audio clock (each interval within 1 ms of the device-clock interval), and the cue through the outage.
A second walk is cued with the client's own song (a synthetic one in the library): each beat starts the next
beat-long segment of it, on the audio clock, and no two segments overlap. Then another connection takes that
walk: the page's socket is closed as superseded, and the page cues on at a steady tempo without reconnecting.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from cadenza.clinic import service
from cadenza.clinic.models import Therapist
from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope
from cadenza.gait import LowerBackStepDetector, match_contacts
from cadenza.settings import Settings
from cadenza.tools.live import records
from cadenza.web.main import create_app

PASSWORD = "cello-river-morning-42"
STRETCH_S = 10.0
CUT_AT_S, CUT_FOR_S = 5.0, 2.0

pytestmark = [pytest.mark.browser, pytest.mark.slow]


_STRETCH: dict = {}


def _stretch(shared_data) -> tuple[np.ndarray, float]:
    """The 10 s stretch (starting on a whole 5 s) with the most offline steps of the lab course recordings."""
    if "found" not in _STRETCH:
        _STRETCH["found"] = _find_stretch(shared_data)
    return _STRETCH["found"]


def _find_stretch(shared_data) -> tuple[np.ndarray, float]:
    from cadenza.io.gait_datasets import load_mobgap_lab

    best = None
    for rec in load_mobgap_lab(shared_data("gait", "mobgap_lab")):
        if rec.test != "Test11":
            continue
        rate = rec.sampling_rate_hz
        steps = LowerBackStepDetector().detect(rec.acc_m_s2, sampling_rate_hz=rate).ic_times_s_
        for start_s in range(0, int(rec.duration_s - STRETCH_S), 5):
            n = int(np.sum((steps >= start_s) & (steps < start_s + STRETCH_S)))
            if best is None or n > best[0]:
                best = (n, rec.acc_m_s2[:, int(start_s * rate):int((start_s + STRETCH_S) * rate)], rate)
    return best[1], best[2]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A migrated record, made once for the module's tests (each test works on its own copy)."""
    path = tmp_path_factory.mktemp("live_record") / "live.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def clinic(tmp_path, serve_app, add_song, migrated):
    shutil.copyfile(migrated, tmp_path / "live.sqlite3")
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        ana = service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
        client = service.create_client(db, actor=ana, code="walker.1")
        session_row = service.record_session(db, actor=ana, client_id=client.id, session_date=dt.date(2026, 12, 1),
                                             minutes=30, intervention_code="ras_gait_training")
        ids = {"client_id": client.id, "session_id": session_row.id}
        ids["song_id"] = add_song(db, client.id, tempo_bpm=100.0, seconds=15.0)
    app = create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory)
    yield {"url": serve_app(app), "factory": factory, **ids}
    engine.dispose()


def _wait_until(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _start_walk(clinic, chromium, *, song: bool = False):
    browser = chromium(["--autoplay-policy=no-user-gesture-required"])
    context = browser.new_context()
    page = context.new_page()
    base = clinic["url"]
    page.goto(f"{base}/login")
    page.fill("#username", "ana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/clients/{clinic['client_id']}/live")
    page.fill("#f-preferred_cadence_spm", "100")
    page.fill("#f-increase_percent", "5")
    page.select_option("#f-session_id", str(clinic["session_id"]))
    if song:
        page.select_option("#f-music_track_id", str(clinic["song_id"]))
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/live/\d+$"))
    return context, page, int(page.url.rsplit("/", 1)[1])


def _replay(page, acc: np.ndarray, rate: float) -> None:
    """Dispatch the recording as DeviceMotion events at its recorded times."""
    page.click("#live-start")
    _wait_until(lambda: page.evaluate("window.cadenzaLive.connected"))
    samples = np.column_stack([np.arange(acc.shape[-1]) * 1000.0 / rate, acc.T]).round(4).tolist()
    page.evaluate("""(samples) => { const t0 = performance.now() + 50;
        for (const [t, x, y, z] of samples) setTimeout(() => window.dispatchEvent(new DeviceMotionEvent("devicemotion",
            {accelerationIncludingGravity: {x, y, z}, interval: 10})), t0 + t - performance.now()); }""", samples)


def test_a_replayed_walk_is_cued_live_and_survives_a_dropped_connection(clinic, chromium, shared_data):
    acc, rate = _stretch(shared_data)
    offline = LowerBackStepDetector().detect(acc, sampling_rate_hz=rate).ic_times_s_
    context, page, walk_id = _start_walk(clinic, chromium)
    _replay(page, acc, rate)
    started = time.monotonic()
    page.wait_for_timeout(CUT_AT_S * 1000)
    context.set_offline(True)  # the phone loses the network: the open socket fails, new ones cannot connect
    beats_before = page.evaluate("window.cadenzaLive.scheduled.length")
    page.wait_for_timeout(CUT_FOR_S * 1000)
    during = page.evaluate("({fixed: window.cadenzaLive.fixedBeats, n: window.cadenzaLive.scheduled.length,"
                           " connected: window.cadenzaLive.connected})")
    context.set_offline(False)
    _wait_until(lambda: page.evaluate("window.cadenzaLive.connected"), timeout_s=10)
    page.wait_for_timeout(max(0.0, STRETCH_S + 0.5 - (time.monotonic() - started)) * 1000)
    _wait_until(lambda: page.evaluate("window.cadenzaLive.unacked") == 0, 10)
    page.click("#live-stop")
    _wait_until(lambda: page.evaluate("window.cadenzaLive.ended"), timeout_s=10)
    state = page.evaluate("window.cadenzaLive")
    assert "Walk saved" in page.text_content("#live-summary")

    # The cue went on through the outage at a steady tempo, and the page reconnected.
    assert not during["connected"] and during["fixed"] >= 3 and during["n"] >= beats_before + 3
    assert state["reconnects"] >= 1
    assert 0 < state["gainCap"] <= 1  # the listener's level cap, set before the first click
    # Every sample counted once: the stored steps are the offline detector's on the same samples.
    with session_scope(clinic["factory"]) as db:
        row = db.get(records.LiveCueWalk, walk_id)
        stored = np.asarray(row.step_times_s)
        owner = db.get(Therapist, row.therapist_id)
        codes = {m.instrument_code for m in service.get_session(db, actor=owner, session_id=clinic["session_id"]).measurements}
    m = match_contacts(stored, offline, tolerance_s=0.05)
    f1 = 2 * m.n_true_positive / (2 * m.n_true_positive + m.n_false_positive + m.n_false_negative)
    delays = np.asarray(state["stepDelaysMs"])
    beats = np.asarray([[b["beatMs"], b["audioS"]] for b in state["scheduled"]])
    # Jitter: each interval between scheduled beats on the audio clock against the same interval on the device
    # clock (the beats' own times); the offset between the clocks may wander slowly, never beat to beat.
    jitter_ms = np.max(np.abs(np.diff(beats[:, 1]) * 1000 - np.diff(beats[:, 0])))
    print(f"\nlive vs offline F1 {f1:.3f} ({offline.size} offline steps, {stored.size} live); step-to-controller delay "
          f"p95 {np.percentile(delays, 95):.0f} ms over {delays.size} steps ({len(state['resentStepDelaysMs'])} re-sent);"
          f" beats {beats.shape[0]} ({state['fixedBeats']} fixed-tempo), audio-clock jitter {jitter_ms:.3f} ms")
    assert f1 >= 0.95 and offline.size >= 12
    assert delays.size >= 5 and np.percentile(delays, 95) <= 150
    assert jitter_ms <= 1.0
    assert {"cadence", "live_freeze_count"} <= codes


def test_the_clients_song_is_played_beat_by_beat_on_the_beats(clinic, chromium, shared_data):
    acc, rate = _stretch(shared_data)
    context, page, walk_id = _start_walk(clinic, chromium, song=True)
    _replay(page, acc, rate)
    _wait_until(lambda: page.evaluate("window.cadenzaLive.segments.length") >= 5, timeout_s=STRETCH_S + 5)
    # Another connection takes the walk (a second tab, or the phone reconnecting): the page's socket is closed
    # with the superseded code; the page keeps its cue at a steady tempo and does not reconnect to fight it.
    from websockets.sync.client import connect

    cookies = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    host = clinic["url"].removeprefix("http://")
    reconnects = page.evaluate("window.cadenzaLive.reconnects")
    with connect(f"ws://{host}/live/ws/{walk_id}", additional_headers={"Origin": clinic["url"], "Cookie": cookies}) as other:
        other.send('{"seq": 2000000000, "t_ms": [], "acc": [[], [], []]}')
        assert json.loads(other.recv(timeout=10))["ack"] == 2000000000
        _wait_until(lambda: page.evaluate("window.cadenzaLive.superseded"), timeout_s=5)
        fixed = page.evaluate("window.cadenzaLive.fixedBeats")
        page.wait_for_timeout(1500)
        after = page.evaluate("({r: window.cadenzaLive.reconnects, f: window.cadenzaLive.fixedBeats,"
                              " c: window.cadenzaLive.connected, why: window.cadenzaLive.closeReason})")
        assert after["r"] == reconnects and not after["c"] and "newer connection" in after["why"]
        assert after["f"] >= fixed + 2  # the cue goes on alone
        other.send('{"type": "end"}')
        assert json.loads(other.recv(timeout=10))["closed"]
    state = page.evaluate("window.cadenzaLive")
    with session_scope(clinic["factory"]) as db:
        row = db.get(records.LiveCueWalk, walk_id)
        assert row.music_track_id == clinic["song_id"] and row.summary["music_track_id"] == clinic["song_id"]
        goal_s = 60.0 / row.goal_cadence_spm
    assert state["music"] == "ready" and state["musicError"] is None
    segments = state["segments"]
    beats = {round(b["beatMs"], 3): b["audioS"] for b in state["scheduled"]}
    start = np.asarray([s["audioS"] for s in segments])
    end = start + np.asarray([s["durationS"] for s in segments])
    device_ms = np.asarray([s["beatMs"] for s in segments])
    # Every beat played a segment, at the beat's own audio-clock time (music replaces the click, it does not add).
    assert len(segments) == len(state["scheduled"])
    assert all(beats[round(s["beatMs"], 3)] == s["audioS"] for s in segments)
    # Segments on the beats: each interval on the audio clock within 1 ms of the beats' device-clock interval.
    jitter_ms = np.max(np.abs(np.diff(start) * 1000 - np.diff(device_ms)))
    # Never two at once; the song goes on segment by segment, each one beat of the song at the goal tempo.
    overlap_ms = np.max((end[:-1] - start[1:]) * 1000)
    order = [s["segment"] for s in segments]
    print(f"\nsong cue: {len(segments)} segments, audio-clock jitter {jitter_ms:.3f} ms, largest overlap "
          f"{overlap_ms:.3f} ms (negative: gaps), segment lengths {min(end - start) * 1000:.1f}-"
          f"{max(end - start) * 1000:.1f} ms")
    assert jitter_ms <= 1.0
    assert overlap_ms <= 1e-3
    assert order == [k % (state["musicBeats"] - 1) for k in range(len(order))]
    # Each segment is one beat of the song at the goal tempo, cut where the next beat came sooner.
    lengths = end - start
    assert np.all(np.abs(lengths[:-1] - np.minimum(goal_s, np.diff(start))) < 1e-3)
    assert abs(lengths[-1] - goal_s) < 1e-3 or lengths[-1] < goal_s
