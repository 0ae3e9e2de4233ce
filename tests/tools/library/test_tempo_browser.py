"""Tap tempo on the library page in real headless Chromium: the static script (no inline script under the
CSP) turns taps into a tempo, and saving stores it as a "tap" correction; the competing level is a button
found by its name ("Use 80 BPM for ...") that stores a "level" correction in one click."""

from __future__ import annotations

import time

import pytest

from cadenza.clinic import service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.io.library_files import ScanReport
from cadenza.settings import Settings
from cadenza.tools.library import records as lr
from cadenza.web.main import create_app

from .conftest import fake_track

PASSWORD = "cello-river-morning-42"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_tapping_the_beat_sets_the_tempo(tmp_path, serve_app, chromium, migrated_sqlite):
    from playwright.sync_api import expect

    url = migrated_sqlite(tmp_path / "tap.sqlite3")  # every migration, 0029_tempo_correction included
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        ana = service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
        client_id = service.create_client(db, actor=ana, code="C001").id
        lr.store_scan(db, actor=ana, client_id=client_id, report=ScanReport(tracks=[fake_track(1, tempo=120.0, energy=0.2)]))
        track = lr.list_tracks(db, actor=ana, client_id=client_id)[0]
        track_id = track.id
        track.tempo_alternative_bpm, track.tempo_level_confidence = 80.0, 0.2  # 2:3, out of halve/double's reach
    base = serve_app(create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory))
    page = chromium().new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    path = f"/clients/{client_id}/library"
    page.goto(f"{base}{path}")
    page.fill("#username", "ana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    row = page.locator(f"#track-{track_id}")
    row.get_by_role("button", name="Use 80 BPM for Band - Song 1", exact=True).click()
    page.wait_for_url(f"{base}{path}#track-{track_id}")
    expect(row).to_contain_text("corrected (level; analysed 120)")
    with session_scope(factory) as db:
        stored = lr.list_tracks(db, actor=ana, client_id=client_id)[0]
        assert (stored.tempo_correction, stored.tempo_used_bpm) == ("level", 80.0)
    row.locator("summary", has_text="correct tempo").click()
    tap = row.locator("button[data-tap]")
    expect(tap).to_be_visible()  # hidden until the script runs
    tap.focus()
    for _ in range(4):  # a 100 BPM beat, tapped with the keyboard
        page.keyboard.press("Space")
        time.sleep(0.6)
    expect(row.locator("[data-tap-status]")).to_contain_text("4 taps")
    tapped_bpm = float(row.locator("input[name=bpm]").input_value())
    assert tapped_bpm == pytest.approx(100, abs=8)
    row.locator("button[data-tap-save]").click()
    page.wait_for_url(f"{base}{path}#track-{track_id}")
    with session_scope(factory) as db:
        stored = lr.list_tracks(db, actor=ana, client_id=client_id)[0]
        assert (stored.tempo_correction, stored.tempo_used_bpm) == ("tap", pytest.approx(tapped_bpm, abs=0.05))
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]
    engine.dispose()
