"""A clinic day in real headless Chromium (issue 16, the walk-through's top-10 problems).

Playwright drives Debian's Chromium against uvicorn on a file SQLite database the test also opens, so
it can do what the clock would (let a login lapse) and check what was stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update

from cadenza.clinic import auth, service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.models import Therapist, TherapySession
from cadenza.settings import Settings
from cadenza.web.main import create_app

PASSWORD = "cello-river-morning-42"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@dataclass
class Clinic:
    url: str
    factory: object
    client_id: int



@pytest.fixture
def clinic(tmp_path, serve_app, migrated_sqlite):
    """uvicorn on a fresh database with the therapist ana and her client C001."""
    url = migrated_sqlite(tmp_path / "day.sqlite3")  # copied from the session's migrated template
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        ana = service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
        client_id = service.create_client(db, actor=ana, code="C001", conditions=["stroke", "anxiety"]).id
    app = create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory)
    base_url = serve_app(app)
    yield Clinic(base_url, factory, client_id)
    engine.dispose()


@pytest.fixture
def browser(chromium):
    return chromium()


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


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
RED_FLAG = "tearful; linked to late husband"
GAIT_SIGNALS = Path(__file__).resolve().parents[1] / "gait" / "conftest.py"


def _walk_csv(path: Path) -> Path:
    """A synthetic lower-back walk (24 steps at 100 steps/min), from the gait science tests' signals."""
    import importlib.util

    import numpy as np

    from cadenza.io.imu import save_imu_csv

    spec = importlib.util.spec_from_file_location("_cadenza_gait_signals_day", GAIT_SIGNALS)
    signals = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(signals)
    rng = np.random.default_rng(16)
    contacts = signals.walking_times(start_s=2.0, n_steps=24, step_s=0.6, rng=rng)
    acc = signals.lower_back_signal(contacts, duration_s=19.0, sampling_rate_hz=100, rng=rng)
    return save_imu_csv(path, acc, sampling_rate_hz=100)


def _every_column_is_shown(page, table_selector: str) -> list[str]:
    """Every cell of the table is displayed inside the 390-px screen, each labelled with its heading."""
    table = page.locator(table_selector)
    headings = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert len(headings) >= 4
    shown = []
    for row in table.locator("tbody tr").all():
        cells = row.locator("td").all()
        assert len(cells) == len(headings)
        for heading, cell in zip(headings, cells, strict=True):
            assert cell.get_attribute("data-label").upper() == heading.upper()
            if cell.inner_text().strip():
                box = cell.bounding_box()
                assert cell.is_visible() and box["width"] > 0, heading
                assert 0 <= box["x"] and box["x"] + box["width"] <= 391, (heading, box)
                shown.append(heading.upper())
    return shown


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_walkthrough_p6_no_column_is_hidden_at_390_px(clinic, browser, tmp_path):
    from cadenza.clinic.service import MeasurementInput
    from cadenza.tools.library import records as lr

    with session_scope(clinic.factory) as db:
        ana = db.scalar(select(Therapist).where(Therapist.username == "ana"))
        phq9 = [1, 1, 1, 1, 1, 1, 1, 1, 1]
        row = service.record_session(db, actor=ana, client_id=clinic.client_id, session_date=dt.date(2026, 11, 29),
                                     minutes=40, intervention_code="receptive_listening",
                                     measurements=[MeasurementInput("vas_anxiety", value=35),
                                                   MeasurementInput("phq9", items=phq9)])
        session_id = row.id
        authz = _authz_library()
        track_id = authz.make_track(db, ana, clinic.client_id)["track_id"]
        lr.rate_track(db, actor=ana, client_id=clinic.client_id, track_id=track_id, stars=4)
        lr.flag_red(db, actor=ana, client_id=clinic.client_id, track_id=track_id, reason=RED_FLAG)

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _log_in(page, clinic, f"/clients/{clinic.client_id}")
        shown = _every_column_is_shown(page, "table:has(th:has-text('Measurements'))")
        assert "MEASUREMENTS" in shown
        assert page.locator("td[data-label=Measurements] .badge.flag").is_visible()  # PHQ-9 item 9
        _no_sideways_scroll(page)

        page.goto(f"{clinic.url}/clients/{clinic.client_id}/sessions/{session_id}")
        _every_column_is_shown(page, "table:has(th:has-text('Band'))")
        assert page.locator("td[data-label=Band] .badge.flag").is_visible()
        _no_sideways_scroll(page)

        page.goto(f"{clinic.url}/clients/{clinic.client_id}/library")
        shown = _every_column_is_shown(page, "table:has(th:has-text('Red flag'))")
        assert {"RATING", "RED FLAG"} <= set(shown)
        assert RED_FLAG in page.locator("td[data-label='Red flag']").inner_text()
        _no_sideways_scroll(page)

        page.goto(f"{clinic.url}/clients/{clinic.client_id}/gait")
        page.set_input_files("#f-recording", str(_walk_csv(tmp_path / "walk.csv")))
        page.select_option("#f-placement", "lower-back")
        page.click("button:has-text('Analyse')")
        page.wait_for_selector("#result table")
        shown = _every_column_is_shown(page, "#result table")
        assert {"CADENCE (STEPS/MIN)", "STEPS", "STEP-TIME CV (%)"} <= set(shown)
        assert page.locator("td[data-label='Cadence (steps/min)']").first.inner_text().startswith("100")
        _no_sideways_scroll(page)

        # The dashboard's "today" and the client list (issue 16) at 390 px: every cell on screen.
        with session_scope(clinic.factory) as db:
            from cadenza.clinic import schedule

            ana = db.scalar(select(Therapist).where(Therapist.username == "ana"))
            today = dt.datetime.now(dt.UTC).date()
            service.record_session(db, actor=ana, client_id=clinic.client_id, session_date=today, minutes=45,
                                   interventions=[("songwriting", 25), ("receptive_listening", 20)])
            schedule.plan_session(db, actor=ana, client_id=clinic.client_id, planned_date=today, minutes=40,
                                  start_time=dt.time(14, 0), purpose="review of the walking goal with the family")
        page.goto(f"{clinic.url}/")
        today_cells = page.locator("#today table td").all()
        assert len(today_cells) == 6 and "planned" in page.locator("#today table").inner_text()
        for cell in today_cells:
            box = cell.bounding_box()
            assert cell.is_visible() and 0 <= box["x"] and box["x"] + box["width"] <= 391, box
        assert page.locator("#flagged").is_visible()  # the PHQ-9 item-9 prompt is still there, above today
        _no_sideways_scroll(page)
        page.goto(f"{clinic.url}/clients?unsigned=yes")
        assert {"CLIENT", "NOTES TO SIGN"} <= set(_every_column_is_shown(page, "table.client-list"))
        _no_sideways_scroll(page)

        # Goal charts fit the phone's width.
        page.goto(f"{clinic.url}/clients/{clinic.client_id}")
        for chart in page.locator("img.chart").all():
            assert chart.bounding_box()["width"] <= 390
        ARTIFACTS.mkdir(exist_ok=True)
        page.goto(f"{clinic.url}/clients/{clinic.client_id}/library")
        page.screenshot(path=str(ARTIFACTS / "phone390-library.png"), full_page=True)
    finally:
        context.close()


def _authz_library():
    import importlib.util

    path = Path(__file__).with_name("authz") / "library.py"
    spec = importlib.util.spec_from_file_location("_cadenza_authz_library_day", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_walkthrough_p2_edit_remove_restore_and_sign_a_session_in_chromium(clinic, page):
    from playwright.sync_api import expect

    from cadenza.clinic.models import AuditEvent

    with session_scope(clinic.factory) as db:
        ana = db.scalar(select(Therapist).where(Therapist.username == "ana"))
        session_id = service.record_session(db, actor=ana, client_id=clinic.client_id, session_date=dt.date(2026, 11, 29),
                                            minutes=40, intervention_code="receptive_listening",
                                            subjective="Calm.").id
    path = f"/clients/{clinic.client_id}/sessions/{session_id}"
    _log_in(page, clinic, path)

    page.click("text=Amend")
    page.fill("#f-session_date", "2026-11-22")
    page.select_option("#f-intervention_code", "songwriting")
    page.fill("#f-reason", "copied from last week's sheet")
    page.click("button:has-text('Save changes')")
    page.wait_for_url(f"{clinic.url}{path}")
    expect(page.locator("h1")).to_have_text("Session on 2026-11-22")
    expect(page.locator("#history")).to_be_visible()

    page.click("#remove-session summary")
    page.fill("#f-remove-reason", "entered for the wrong client")
    page.click("button:has-text('Remove session')")
    page.wait_for_url(f"{clinic.url}/clients/{clinic.client_id}#removed")
    removed_row = page.locator("#removed + p + table tbody tr")
    expect(removed_row).to_contain_text("entered for the wrong client")
    removed_row.locator("button:has-text('Restore')").click()
    page.wait_for_url(f"{clinic.url}{path}")

    # Signing asks first: the box must be ticked.
    page.click("button:has-text('Sign note')")
    assert page.url == f"{clinic.url}{path}" and page.locator("#signature .flash").count() == 0
    page.check("input[name=confirm]")
    page.click("button:has-text('Sign note')")
    expect(page.locator("#signature")).to_contain_text("Signed")
    assert page.locator("#remove-session").count() == 0

    with session_scope(clinic.factory) as db:
        rows = db.execute(select(AuditEvent.action).where(AuditEvent.entity == "therapy_session",
                                                          AuditEvent.entity_id == session_id,
                                                          AuditEvent.action.in_(("update", "delete", "restore", "sign")))
                          .order_by(AuditEvent.id)).scalars().all()
    assert rows == ["update", "delete", "restore", "sign"]
    assert _csp_errors(page) == []
