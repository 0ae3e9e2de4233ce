"""A Web MIDI duet simulated in Chromium: two instruments play, the capture page posts the notes to the
session, the stored take's page shows the timeline and the figures; axe-core finds no serious violation.
(Analysing without storing is the same route: tests/tools/improv/test_pages.py.)

The page keeps its CSP: the fake Web MIDI access is an init script (run by the browser's automation, not
by the page), and the notes are fired at the fake inputs with the MIDI events' own time stamps.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cadenza.clinic import service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.settings import Settings
from cadenza.tools.improv.records import ImprovTake
from cadenza.web.main import create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "cello-river-morning-42"
AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"

FAKE_MIDI = """
(() => {
  const inputs = new Map();
  for (const [id, name] of [["in-1", "Keys A"], ["in-2", "Pads B"]]) {
    inputs.set(id, {id, name, onmidimessage: null});
  }
  navigator.requestMIDIAccess = () => Promise.resolve({inputs});
  // play([[input id, status, note, velocity, ms after now], ...])
  window.__playMidi = (events) => {
    const now = performance.now();
    for (const [id, status, note, velocity, ms] of events) {
      inputs.get(id).onmidimessage({data: new Uint8Array([status, note, velocity]), timeStamp: now + ms});
    }
  };
})();
"""


def _duet_events(lag_ms: int = 100) -> list[list]:
    """The therapist (Keys A) plays a scale figure every 250 ms; the client (Pads B, drum pads sending on GM
    channel 10, status 0x99/0x89) answers every other note ``lag_ms`` later."""
    events = []
    scale = [60, 62, 64, 65, 67, 65, 64, 62]
    for k in range(48):
        t, p = 250 * k, scale[k % 8]
        events += [["in-1", 0x90, p, 90, t], ["in-1", 0x80, p, 0, t + 150]]
        if k % 2 == 0:
            events += [["in-2", 0x99, p + 5, 60, t + lag_ms], ["in-2", 0x89, p + 5, 0, t + lag_ms + 120]]
    return sorted(events, key=lambda e: e[4])


@pytest.fixture
def clinic(tmp_path, serve_app, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "improv.sqlite3")  # copied from the session's migrated template
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        ana = service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
        client = service.create_client(db, actor=ana, code="I001")
        row = service.record_session(db, actor=ana, client_id=client.id, session_date=dt.date(2026, 12, 1), minutes=45,
                                     intervention_code="drumming_improvisation")
        ids = {"client": client.id, "session": row.id}
    ids["url"] = url
    yield serve_app(create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory)), ids
    engine.dispose()


def _axe_violations(page) -> list[str]:
    if not AXE.exists():
        return []
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")  # evaluated by the automation: the page's CSP stays on
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_a_simulated_web_midi_duet_is_captured_analysed_and_stored(clinic, chromium):
    base, ids = clinic
    clinic_url = ids["url"]
    browser = chromium()
    page = browser.new_page()
    page.add_init_script(FAKE_MIDI)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    capture = f"{base}/clients/{ids['client']}/improv/capture?session_id={ids['session']}"
    page.goto(capture)
    expect(page.locator("#midi-status")).to_have_text("2 MIDI instrument(s) found.")
    expect(page.locator("#midi-inputs select").nth(0)).to_have_value("therapist")
    expect(page.locator("#midi-inputs select").nth(1)).to_have_value("client")
    page.click("#capture-start")
    page.evaluate("(events) => window.__playMidi(events)", _duet_events(lag_ms=60))
    page.click("#capture-stop")
    expect(page.locator("#capture-count")).to_have_text("72 notes recorded")
    page.fill("#f-label", "Call and response")
    page.click("#capture-analyse")
    page.wait_for_url(f"{base}/clients/{ids['client']}/improv/takes/*")
    expect(page.locator("h1")).to_have_text("Call and response")
    expect(page.locator("#timeline svg.improv-timeline")).to_be_visible()
    expect(page.locator("#improv-players")).to_contain_text("Note density")
    expect(page.locator("#improv-duet tr").first.locator("td")).to_have_text("60")
    assert page.locator("#timeline svg rect").count() > 72
    # The pads came on channel 10: the client is a percussion player (no pitch figures), the keys are not.
    take_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    with session_scope(make_session_factory(make_engine(clinic_url))) as db:
        per_player = db.get(ImprovTake, take_id).features["per_player"]
    assert per_player["client"]["pitch_range_semitones"] is None
    assert per_player["therapist"]["pitch_range_semitones"] > 0
    assert _axe_violations(page) == []
    page.goto(capture)
    assert _axe_violations(page) == []
