"""axe-core on every page of the therapist's and the administrator's day: 0 serious or critical violations.

axe-core (MPL-2.0, Deque Systems) comes from npm into ``node_modules/`` (``scripts/setup``; it is a test
tool and never served). The pages' CSP forbids inline scripts, so the axe contexts bypass CSP to inject it;
the other browser tests keep the CSP. Forms are scanned empty, with errors, and with results.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from cadenza.clinic import auth, service
from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope
from cadenza.clinic.models import Therapist
from cadenza.clinic.service import MeasurementInput
from cadenza.settings import Settings
from cadenza.web.main import create_app

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "cello-river-morning-42"
BLOCKING = ("serious", "critical")

pytestmark = [pytest.mark.browser, pytest.mark.slow]



@pytest.fixture
def clinic(tmp_path, serve_app, migrated_sqlite):
    """uvicorn with a therapist's day recorded: clients (one NICU infant), goals, sessions, a track."""
    url = migrated_sqlite(tmp_path / "axe.sqlite3")
    migrate(url)  # a no-op unless a migration appeared since the session's template was made
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        ana = service.create_therapist(db, actor=None, username="ana", password=PASSWORD, role="therapist")
        root = service.create_therapist(db, actor=None, username="root", password=PASSWORD, role="admin")
        client = service.create_client(db, actor=ana, code="C001", conditions=["stroke", "anxiety"],
                                       safety_flags=["hearing_loss"])
        infant = service.create_client(db, actor=ana, code="N001", safety_flags=["nicu_infant"])
        goal = service.create_goal(db, actor=ana, client_id=client.id, instrument_code="vas_anxiety", baseline=65,
                                   target=30, description="calmer before walking")
        stai = {"calm": 2, "tense": 3, "upset": 3, "relaxed": 2, "content": 2, "worried": 3}
        rows = [service.record_session(db, actor=ana, client_id=client.id, session_date=dt.date(2026, 11, day),
                                       minutes=40, intervention_code="receptive_listening", subjective="tired",
                                       measurements=[MeasurementInput("vas_anxiety", value=60 - day, goal_id=goal.id),
                                                     MeasurementInput("stai6", items=stai),
                                                     MeasurementInput("phq9", items=[1] * 9)])
                for day in (15, 22)]
        service.sign_session(db, actor=ana, session_id=rows[0].id, expected_version=rows[0].version)
        service.add_addendum(db, actor=ana, session_id=rows[0].id, text="Late entry: slept badly.")
        enrolment = auth.start_mfa_enrolment(db, actor=root)
        import pyotp

        totp = pyotp.TOTP(enrolment.secret)
        auth.confirm_mfa_enrolment(db, actor=root, code=totp.at(dt.datetime.now(dt.UTC)))
        ids = {"client": client.id, "infant": infant.id, "goal": goal.id, "signed": rows[0].id, "draft": rows[1].id,
               "totp": totp}
    app = create_app(Settings(database_url=url, data_dir=tmp_path), session_factory=factory)
    base_url = serve_app(app)
    yield base_url, ids
    engine.dispose()


@pytest.fixture
def browser(chromium):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent; scripts/setup installs axe-core from npm")
    return chromium()


def _blocking_violations(page) -> list[str]:
    # axe-core is in every document of the context (add_init_script below): sent to Chromium once, not per page.
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{page.url}: {v['id']} ({v['impact']}) at {[n['target'] for n in v['nodes']][:3]}: {v['help']}"
            for v in result["violations"] if v["impact"] in BLOCKING]


def _log_in(page, base: str, username: str, totp=None) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    if totp is not None:
        page.wait_for_url("**/login/mfa**")
        page.fill("input[name=code]", totp.at(dt.datetime.now(dt.UTC), counter_offset=1))
        page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _scan(page, base: str, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        response = page.goto(f"{base}{path}")
        assert response.status < 400, (path, response.status)
        found += _blocking_violations(page)
    return found


def test_axe_finds_no_serious_or_critical_violation_for_either_role(clinic, browser):
    base, ids = clinic
    c, n = ids["client"], ids["infant"]
    therapist_pages = [
        "/", "/clients/new", f"/clients/{c}", f"/clients/{c}/edit", f"/clients/{c}/goals/new",
        f"/clients/{c}/goals/{ids['goal']}/edit", f"/clients/{c}/sessions/new", f"/clients/{c}/sessions/{ids['signed']}",
        f"/clients/{c}/sessions/{ids['draft']}", f"/clients/{c}/sessions/{ids['draft']}/edit", f"/clients/{c}/report",
        f"/clients/{c}/gait", f"/clients/{c}/ras", f"/clients/{c}/mit", f"/clients/{c}/library", f"/clients/{c}/safety",
        f"/clients/{c}/home", f"/clients/{c}/care", f"/clients/{c}/timing", f"/clients/{c}/songs", f"/clients/{n}",
        f"/clients/{n}/nicu",
        "/evidence", "/evidence?condition=stroke",
        "/account/tokens", "/account/password", "/account/mfa",
        "/clients?q=c0", f"/clients/{c}/plan", "/account/note-templates",
    ]
    admin_pages = ["/", "/admin/therapists", "/admin/emergency", "/admin/audit", "/account/mfa", "/account/tokens",
                   "/evidence"]
    violations: list[str] = []
    for username, paths, totp in (("ana", therapist_pages, None), ("root", admin_pages, ids["totp"])):
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        context.add_init_script(path=AXE)
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            page.goto(f"{base}/login")
            violations += _blocking_violations(page)
            _log_in(page, base, username, totp)
            violations += _scan(page, base, paths)
            if username == "ana":
                # Forms with their errors shown.
                page.goto(f"{base}/clients/{c}/sessions/new")
                page.fill("#f-minutes", "0")
                page.evaluate("document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'))")
                page.click("button:has-text('Save session')")
                violations += _blocking_violations(page)
                page.goto(f"{base}/clients/new")
                page.evaluate("document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'))")
                page.click("button:has-text('Save')")
                violations += _blocking_violations(page)
        finally:
            context.close()
    assert violations == [], "\n".join(violations)
