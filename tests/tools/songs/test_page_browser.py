"""The songwriting page in headless Chromium, under the app's CSP: the fit comes back through htmx, rhymes
too, the song is saved and its audio is served to the page's player."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cadenza.clinic import service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.settings import Settings
from cadenza.web.main import create_app

pytestmark = pytest.mark.browser

PASSWORD = "songs-by-the-sea-evening-19"


@pytest.fixture
def clinic(tmp_path, serve_app, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "songs.sqlite3")  # copied from the session's migrated template
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        ana = service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
        client_id = service.create_client(db, actor=ana, code="S1").id
    app = create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory)
    yield serve_app(app), client_id
    engine.dispose()


def test_fit_rhymes_save_and_listen(clinic, chromium):
    base, client_id = clinic
    page = chromium().new_page()
    page.goto(f"{base}/login")
    page.fill("#username", "ana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/clients/{client_id}/songs")
    page.fill("#f-title", "Sea")
    page.fill("#f-lyrics", "Walking slowly to the sea\nListen to the waves and me")
    page.select_option("#f-meter", "6/8")
    page.select_option("#f-chords_per_bar", "2")
    page.fill("#f-progression", "I-V-vi-IV")
    page.click("#fit-button")
    expect(page.locator("#fit")).to_contain_text("WALK-ing SLOW-ly to the SEA")
    expect(page.locator("#fit")).to_contain_text("stressed ones on the beats")
    expect(page.locator("#fit")).to_contain_text("6/8")
    expect(page.locator("#fit")).to_contain_text("C G | Am F")
    page.fill("#f-word", "sea")
    page.click("button:has-text('Find rhymes')")
    # The first rhyme query loads the pronouncing dictionary (seconds on a busy machine): a UI wait, no time bound.
    expect(page.locator("#rhymes")).to_contain_text("bee", timeout=20_000)
    page.click("button:has-text('Save the song')")
    expect(page.locator("article.song h3")).to_have_text("Sea")
    audio = page.request.get(base + page.locator("article.song audio").get_attribute("src"))
    assert audio.status == 200 and audio.body()[:4] == b"RIFF"
