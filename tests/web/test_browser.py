"""End to end in a real browser: Playwright driving Debian's headless Chromium against uvicorn.

Log in, create a client, add a measurable goal, record a session with STAI-6 and a VAS (after
fixing an inline validation error), open the gait tool for that session, see the progress chart
image, download the FHIR export, follow a tool link from the client page to the dose ledger. A
screenshot of the client page is saved to ``test-artifacts/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadenza.clinic import service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.settings import Settings
from cadenza.web.main import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "cello-river-morning-42"

pytestmark = [pytest.mark.browser, pytest.mark.slow]



@pytest.fixture
def live_server(tmp_path, serve_app, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "e2e.sqlite3")  # copied from the session's migrated template
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
    app = create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory)
    base_url = serve_app(app)
    yield base_url
    engine.dispose()


@pytest.fixture
def page(chromium):
    context = chromium().new_context(accept_downloads=True, viewport={"width": 1180, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_therapist_workflow_in_chromium(live_server, page, tmp_path):
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)

    page.goto(f"{live_server}/clients/new")
    assert "/login" in page.url
    page.fill("#username", "ana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/clients/new")

    page.fill("#f-code", "C042")
    page.fill("#f-birth_year", "1946")
    page.fill("#f-conditions", "parkinson's disease, anxiety")
    page.check("input[name=safety_flags][value=seizures]")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/clients/*")
    client_url = page.url
    assert page.locator("section.safety").is_visible()
    assert "never starts by itself" in page.locator("section.safety").inner_text()

    page.click("text=Add a goal")
    page.select_option("#f-instrument_code", "stai6")
    page.fill("#f-baseline", "56.7")
    page.fill("#f-target", "40")
    page.fill("#f-target_date", "2027-03-01")
    page.fill("#f-description", "Less anxious before walking practice")
    page.click("button:has-text('Add goal')")
    page.wait_for_url(f"{client_url}#goals")

    page.click("text=Record a session")
    page.check("input[name=intervention_code][value=receptive_listening]")
    page.fill("#f-minutes", "40")
    page.fill("#f-plan", "Repeat the calming playlist next week")
    page.click("#instrument-stai6 summary")
    for item, answer in {"calm": "3", "tense": "2", "upset": "1", "relaxed": "3", "content": "3", "worried": "2"}.items():
        page.select_option(f"[id='f-stai6.{item}']", answer)
    page.click("#instrument-vas_anxiety summary")
    page.fill("[id='f-vas_anxiety.value']", "350")  # a slip: the line is 100 mm long
    page.click("button:has-text('Save session')")
    error = page.locator("#instrument-vas_anxiety .field-error")
    assert "mm" in error.inner_text()
    assert page.input_value("#f-plan") == "Repeat the calming playlist next week"
    assert page.input_value("[id='f-stai6.tense']") == "2"
    page.fill("[id='f-vas_anxiety.value']", "35")
    page.click("button:has-text('Save session')")
    page.wait_for_url("**/sessions/*")
    assert "STAI-6" in page.content()
    session_id = page.url.rstrip("/").rsplit("/", 1)[1]

    # The session page hands its id to the gait tool, which stores the cadence on that session.
    page.click("text=Analyse a gait recording for this session")
    page.wait_for_url("**/gait?session_id=*")
    assert page.input_value("#f-session_id") == session_id
    page.go_back()

    page.goto(client_url)
    chart = page.locator("img.chart").first
    chart.scroll_into_view_if_needed()
    page.wait_for_function("() => { const i = document.querySelector('img.chart'); return i && i.complete && i.naturalWidth > 0; }")
    assert chart.evaluate("img => img.naturalWidth") >= 300
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "client-page.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("text=FHIR export")
    target = tmp_path / "export.json"
    download_info.value.save_as(target)
    bundle = json.loads(target.read_text())
    assert bundle["resourceType"] == "Bundle"
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert {"Patient", "Goal", "Observation"} <= kinds

    # The client page is the hub: follow a tool link and come back.
    page.goto(client_url)
    assert "0.0 %" in page.locator("#dose-summary").inner_text()
    assert page.locator("#nicu-tools").count() == 0  # not an NICU infant
    page.click("div.tools >> text=Hearing safety and dose ledger")
    page.wait_for_url(f"{client_url}/safety")
    assert "Weekly sound dose" in page.content()
    assert "never starts by itself" in page.locator("section.safety").inner_text()
    assert page.locator("audio[autoplay]").count() == 0
    page.click(f"a[href='{client_url.removeprefix(live_server)}']")
    page.wait_for_url(client_url)

    page.goto(f"{live_server}/evidence")
    page.select_option("#f-condition", index=1)
    page.wait_for_function("() => location.search.includes('condition=')")  # htmx swapped the results
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors
