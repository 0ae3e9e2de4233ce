"""A clinic day in real headless Chromium (issue 16, the walk-through's top-10 problems).

Playwright drives Debian's Chromium against uvicorn on a file SQLite database the test also opens, so
it can do what the clock would (let a login lapse) and check what was stored.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update

from cadenza.clinic import auth, service
from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope
from cadenza.clinic.models import TherapySession
from cadenza.settings import Settings
from cadenza.web.main import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "cello-river-morning-42"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@dataclass
class Clinic:
    url: str
    factory: object
    client_id: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clinic(tmp_path):
    """uvicorn on a fresh database with the therapist ana and her client C001."""
    import uvicorn

    url = f"sqlite:///{tmp_path / 'day.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        ana = service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
        client_id = service.create_client(db, actor=ana, code="C001", conditions=["stroke", "anxiety"]).id
    app = create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.05)
    yield Clinic(f"http://127.0.0.1:{port}", factory, client_id)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip(f"{CHROMIUM} is absent; scripts/setup installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1180, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()


def _log_in(page, clinic: Clinic, path: str = "/") -> None:
    page.goto(f"{clinic.url}{path}")
    page.fill("#username", "ana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{clinic.url}{path}")


def _csp_errors(page) -> list[str]:
    return [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e]


def test_walkthrough_p1_a_note_typed_while_the_login_lapses_is_kept_and_saved(clinic, page):
    from playwright.sync_api import expect

    form_path = f"/clients/{clinic.client_id}/sessions/new"
    _log_in(page, clinic, form_path)
    page.check("input[name=intervention_code][value=receptive_listening]")
    page.fill("#f-subjective", "Arrived anxious; chose the harbour song.")
    expect(page.locator("[data-draft-status]")).to_contain_text("Draft kept", timeout=10_000)

    # The therapist is called away; the login lapses on the server (30 min idle), then she finishes.
    with session_scope(clinic.factory) as db:
        db.execute(update(auth.LoginSession).values(
            last_seen_at=dt.datetime.now(dt.UTC) - auth.IDLE_TIMEOUT - dt.timedelta(minutes=5)))
    page.fill("#f-subjective", "Arrived anxious; chose the harbour song. Calmer after ten minutes.")
    page.fill("#f-plan", "Same playlist next week.")
    page.click("button:has-text('Save session')")

    page.wait_for_url("**/login?**")
    assert "kept=1" in page.url
    expect(page.locator("main")).to_contain_text("Nothing you typed is lost")
    page.fill("#username", "ana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{clinic.url}{form_path}")
    expect(page.locator("#draft-notice")).to_be_visible()
    assert page.input_value("#f-subjective") == "Arrived anxious; chose the harbour song. Calmer after ten minutes."
    assert page.input_value("#f-plan") == "Same playlist next week."
    assert page.is_checked("input[name=intervention_code][value=receptive_listening]")

    page.click("button:has-text('Save session')")
    page.wait_for_url("**/sessions/*")
    expect(page.locator("main")).to_contain_text("Calmer after ten minutes.")
    with session_scope(clinic.factory) as db:
        stored = db.scalars(select(TherapySession)).all()
        assert [(s.soap_subjective, s.soap_plan) for s in stored] == [
            ("Arrived anxious; chose the harbour song. Calmer after ten minutes.", "Same playlist next week.")]
    page.goto(f"{clinic.url}{form_path}")  # saved, so a new form starts empty
    assert page.input_value("#f-subjective") == ""
    assert _csp_errors(page) == []
