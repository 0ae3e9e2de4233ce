"""Audit completeness, measured (reliability anchor T13): a scripted clinic day of real actions through the
web app (and the command line where an action only exists there), each checked against the audit rows it
must leave: exactly those rows, no fewer and no more, compared by (action, entity, actor, client).

The script runs once per backend on this module's private database, with real commits, so the CLI sees
what the web app wrote. ``STEPS`` is the table action -> expected audit rows; a step whose owning module
does not audit it yet carries a strict xfail naming the file and function (it fails loudly once fixed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cadenza.clinic import auth, emergency, service
from cadenza.clinic.audit_chain import verify_chain
from cadenza.clinic.db import make_session_factory
from cadenza.clinic.models import AuditEvent
from cadenza.settings import Settings
from cadenza.web.main import create_app

PASSWORD = "violin-harbour-sunrise-7"
WRONG = "not-the-password-at-all"
REASON = "Crisis call from the ward; ann is on sick leave and the care plan is needed now."

# (action, entity, actor username, client label or None)
Row = tuple[str, str, str, str | None]


@dataclass
class Ctx:
    """What the script has made so far: browsers, ids, and client labels for the audit comparison."""

    app: Any
    engine: Any
    url: str
    tmp: Any
    browsers: dict[str, TestClient] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    totp: pyotp.TOTP | None = None
    bearer: dict[str, dict[str, str]] = field(default_factory=dict)
    elsewhere: list | None = None  # rows a step observed in another database (restore)
    authz: Any = None  # the sample files of tests/web/authz/ (the authz_modules fixture), for setup helpers

    def browser(self, name: str) -> TestClient:
        if name not in self.browsers:
            browser = TestClient(self.app, follow_redirects=False)
            browser.__enter__()
            self.browsers[name] = browser
        return self.browsers[name]

    def db(self) -> Session:
        return make_session_factory(self.engine)()

    def client_label(self, label: str, client_id: int) -> None:
        self.ids[label] = client_id
        self.labels[client_id] = label


def _csrf(browser: TestClient, path: str) -> str:
    # The token is per login session, so it is read from a page that audits nothing (the two-factor
    # page is open to every logged-in user); client pages would add read rows to the step.
    page = browser.get(path if path == "/login" else "/account/mfa")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]


def _login(ctx: Ctx, who: str, password: str = PASSWORD, *, expect: int = 303):
    browser = ctx.browser(who)
    response = browser.post("/login", data={"username": who, "password": password,
                                            "csrf_token": _csrf(browser, "/login"), "next": "/"})
    assert response.status_code == expect, response.text[:500]
    return response


def _post(ctx: Ctx, who: str, path: str, data: dict, *, csrf_from: str = "/", expect: int = 303, **kw):
    browser = ctx.browser(who)
    response = browser.post(path, data={"csrf_token": _csrf(browser, csrf_from), **data}, **kw)
    ok = response.status_code in (200, 303) if expect is None else response.status_code == expect
    assert ok, f"{path}: {response.status_code} {response.text[:800]}"
    return response


def _get(ctx: Ctx, who: str, path: str, *, expect: int = 200, **kw):
    response = ctx.browser(who).get(path, **kw)
    assert response.status_code == expect, f"{path}: {response.status_code} {response.text[:800]}"
    return response


def _api(ctx: Ctx, who: str, method: str, path: str, *, expect: int = 200, **kw):
    response = ctx.browser(f"api:{who}").request(method, path, headers=ctx.bearer[who], **kw)
    assert response.status_code == expect, f"{path}: {response.status_code} {response.text[:800]}"
    return response


def _cli(ctx: Ctx, *args: str, expect: int = 0) -> str:
    from typer.testing import CliRunner

    from cadenza.cli.main import app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CADENZA_DATABASE_URL", ctx.url)
        patch.setenv("CADENZA_DATA_DIR", str(ctx.tmp))
        result = CliRunner().invoke(app, list(args))
    assert result.exit_code == expect, result.output
    return result.output


# --- the script -------------------------------------------------------------------------------------
# Each step is one thing a clinic does; steps run in this order and share ``ctx``.


def s_login_failed(ctx):
    _login(ctx, "ann", WRONG, expect=401)


def s_lockout(ctx):
    # The account's failure budget in one window; the attempt that exhausts it locks the account.
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        _login(ctx, "cy", WRONG, expect=401)


def s_login_while_locked(ctx):
    _login(ctx, "cy", PASSWORD, expect=401)


def s_login_ok(ctx):
    _login(ctx, "ann")


def s_dashboard(ctx):
    _get(ctx, "ann", "/")


def s_create_client(ctx):
    response = _post(ctx, "ann", "/clients/new", {"code": "A.1", "birth_year": "1950",
                                                  "conditions": "parkinson's disease"}, csrf_from="/clients/new")
    ctx.client_label("A", int(response.headers["location"].rsplit("/", 1)[1]))


def s_read_client(ctx):
    _get(ctx, "ann", f"/clients/{ctx.ids['A']}")


def s_update_client(ctx):
    _post(ctx, "ann", f"/clients/{ctx.ids['A']}/edit", {"birth_year": "1951", "conditions": "parkinson's disease"},
          csrf_from=f"/clients/{ctx.ids['A']}/edit")


def s_create_goal(ctx):
    _post(ctx, "ann", f"/clients/{ctx.ids['A']}/goals/new",
          {"instrument_code": "gait_speed", "baseline": "0.8", "target": "1.0", "description": "walk to the shop"},
          csrf_from=f"/clients/{ctx.ids['A']}/goals/new")
    with ctx.db() as db:
        ctx.ids["goal"] = db.scalar(select(func.max(service.Goal.id)))


def s_token_via_api(ctx):
    response = ctx.browser("api:ann").post("/api/v1/auth/token", json={"username": "ann", "password": PASSWORD,
                                                                       "label": "script"})
    assert response.status_code == 200, response.text
    ctx.bearer["ann"] = {"Authorization": f"Bearer {response.json()['access_token']}"}


def s_token_via_api_failed(ctx):
    response = ctx.browser("api:anon").post("/api/v1/auth/token", json={"username": "ann", "password": WRONG})
    assert response.status_code == 401


def s_update_goal(ctx):
    _api(ctx, "ann", "PATCH", f"/api/v1/clients/{ctx.ids['A']}/goals/{ctx.ids['goal']}", json={"target": 1.1})


def s_record_session(ctx):
    response = _post(ctx, "ann", f"/clients/{ctx.ids['A']}/sessions/new",
                     {"session_date": "2026-11-20", "minutes": "45", "intervention_code": "ras_gait_training",
                      "subjective": "feels steadier", "gait_speed.value": "0.91",
                      "gait_speed.goal_id": str(ctx.ids["goal"]), "nrs_pain.value": "3"},
                     csrf_from=f"/clients/{ctx.ids['A']}/sessions/new")
    ctx.ids["session"] = int(response.headers["location"].rsplit("/", 1)[1])


def s_edit_session(ctx):
    path = f"/clients/{ctx.ids['A']}/sessions/{ctx.ids['session']}"
    _post(ctx, "ann", f"{path}/edit", {"version": "1", "minutes": "50", "plan": "cue at 105 bpm"},
          csrf_from=f"{path}/edit")


def s_read_session(ctx):
    _get(ctx, "ann", f"/clients/{ctx.ids['A']}/sessions/{ctx.ids['session']}")


def s_sign(ctx):
    path = f"/clients/{ctx.ids['A']}/sessions/{ctx.ids['session']}"
    with ctx.db() as db:
        version = db.get(service.TherapySession, ctx.ids["session"]).version
    _post(ctx, "ann", f"{path}/sign", {"version": str(version), "confirm": "yes"}, csrf_from=path)


def s_addendum(ctx):
    path = f"/clients/{ctx.ids['A']}/sessions/{ctx.ids['session']}"
    _post(ctx, "ann", f"{path}/addenda", {"text": "Late entry: the walk was with a frame."}, csrf_from=path)


def s_progress_chart(ctx):
    response = _get(ctx, "ann", f"/clients/{ctx.ids['A']}/goals/{ctx.ids['goal']}/chart.png")
    assert response.content.startswith(b"\x89PNG")


def s_fhir_export(ctx):
    response = _get(ctx, "ann", f"/clients/{ctx.ids['A']}/export/fhir.json")
    assert '"resourceType":' in response.text


def s_csv_export(ctx):
    response = _get(ctx, "ann", f"/clients/{ctx.ids['A']}/export/measurements.csv")
    assert response.text.startswith("client_code,")


def s_fhir_export_api(ctx):
    _api(ctx, "ann", "GET", f"/api/v1/clients/{ctx.ids['A']}/export/fhir")


def s_report(ctx):
    _get(ctx, "ann", f"/clients/{ctx.ids['A']}/report")


def s_audit_trail_api(ctx):
    _api(ctx, "ann", "GET", f"/api/v1/clients/{ctx.ids['A']}/audit")


def s_token_page_create(ctx):
    _post(ctx, "ann", "/account/tokens", {"label": "laptop", "password": PASSWORD}, csrf_from="/account/tokens",
          expect=200)
    with ctx.db() as db:
        ctx.ids["token"] = max(t.id for t in auth.list_api_tokens(db, therapist_id=ctx.ids["ann"]))


def s_token_page_revoke(ctx):
    _post(ctx, "ann", f"/account/tokens/{ctx.ids['token']}/revoke", {}, csrf_from="/account/tokens")


def s_denied_page(ctx):
    _get(ctx, "bob", f"/clients/{ctx.ids['A']}", expect=404)


def s_password_change_refused(ctx):
    _post(ctx, "bob", "/account/password", {"current_password": "not-" + PASSWORD,
                                            "new_password": "oboe-lantern-meadow-31",
                                            "confirm_password": "oboe-lantern-meadow-31"}, expect=422)


def s_password_change(ctx):
    _post(ctx, "bob", "/account/password", {"current_password": PASSWORD, "new_password": "oboe-lantern-meadow-31",
                                            "confirm_password": "oboe-lantern-meadow-31"}, expect=200)


def s_cli_client_show(ctx):
    assert "A.1" in _cli(ctx, "client", "show", "A.1", "--as", "ann")


def s_cli_csv_export(ctx):
    out = ctx.tmp / "A.1.csv"
    _cli(ctx, "client", "export", "A.1", "--csv", "-o", str(out), "--as", "ann")
    assert out.read_text().startswith("client_code,")


def s_cli_reset_mfa(ctx):
    _cli(ctx, "admin", "reset-mfa", "root")


def s_sound_dose(ctx):
    _post(ctx, "ann", f"/clients/{ctx.ids['A']}/safety/listening",
          {"level_dba": "70", "minutes": "30", "source": "manual"}, csrf_from=f"/clients/{ctx.ids['A']}/safety")


def s_safety_page(ctx):
    _get(ctx, "ann", f"/clients/{ctx.ids['A']}/safety")


def s_ras_page(ctx):
    _get(ctx, "ann", f"/clients/{ctx.ids['A']}/ras")


def s_ras_plan(ctx):
    _post(ctx, "ann", f"/clients/{ctx.ids['A']}/ras/plans",
          {"cadence_spm": "100", "condition": "other", "session_minutes": "30", "sessions_per_week": "3"},
          csrf_from=f"/clients/{ctx.ids['A']}/ras", expect=None)


def s_mit_page(ctx):
    _get(ctx, "ann", f"/clients/{ctx.ids['A']}/mit")


def s_mit_phrase(ctx):
    _post(ctx, "ann", f"/clients/{ctx.ids['A']}/mit/phrases", {"text": "I want water", "level": "1"},
          csrf_from=f"/clients/{ctx.ids['A']}/mit")


def s_create_nicu_client(ctx):
    response = _post(ctx, "ann", "/clients/new", {"code": "N.1", "safety_flags": "nicu_infant"},
                     csrf_from="/clients/new")
    ctx.client_label("N", int(response.headers["location"].rsplit("/", 1)[1]))


def s_nicu_page(ctx):
    _get(ctx, "ann", f"/clients/{ctx.ids['N']}/nicu")


def s_nicu_thresholds(ctx):
    _post(ctx, "ann", f"/clients/{ctx.ids['N']}/nicu/thresholds",
          {"hr_min_bpm": "100", "hr_max_bpm": "180", "spo2_min_pct": "88", "rr_min_bpm": "25", "rr_max_bpm": "70"},
          csrf_from=f"/clients/{ctx.ids['N']}/nicu", expect=None)


def s_library_page(ctx):
    _get(ctx, "ann", f"/clients/{ctx.ids['A']}/library")


def s_library_red_flag(ctx):
    # The scanned track comes from _before_step: setting it up is not this step's action.
    _post(ctx, "ann", f"/clients/{ctx.ids['A']}/library/tracks/{ctx.ids['track']}/red-flag", {"reason": "upset"},
          csrf_from=f"/clients/{ctx.ids['A']}/library", expect=None)


def s_logout(ctx):
    _post(ctx, "ann", "/logout", {})


def s_session_timeout(ctx):
    with ctx.db() as db:
        db.execute(update(auth.LoginSession).where(auth.LoginSession.therapist_id == ctx.ids["ann"],
                                                   auth.LoginSession.revoked_at.is_(None))
                   .values(last_seen_at=dt.datetime.now(dt.UTC) - auth.IDLE_TIMEOUT - dt.timedelta(minutes=1)))
        db.commit()
    for _ in range(2):  # the lapsed cookie presented again is not a second logoff
        response = ctx.browser("ann").get("/")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def s_admin_login(ctx):
    _login(ctx, "root")


def s_mfa_enrol(ctx):
    page = _post(ctx, "root", "/account/mfa/setup", {"password": PASSWORD}, csrf_from="/account/mfa", expect=200)
    secret = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page.text)[1]
    ctx.totp = pyotp.TOTP(secret)
    _post(ctx, "root", "/account/mfa/confirm", {"code": ctx.totp.now()}, csrf_from="/account/mfa", expect=200)


def _code_step(ctx, code: str, expect: int):
    browser = ctx.browser("root")
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login/mfa").text)[1]
    response = browser.post("/login/mfa", data={"code": code, "csrf_token": token, "next": "/"})
    assert response.status_code == expect, response.text[:500]


def s_admin_logout(ctx):
    _post(ctx, "root", "/logout", {})


def s_mfa_failed(ctx):
    _login(ctx, "root")  # password right: a code is now due
    now = dt.datetime.now(dt.UTC)
    valid = {ctx.totp.at(now, counter_offset=k) for k in (-1, 0, 1, 2)}
    wrong = next(f"{n:06d}" for n in range(1, 100) if f"{n:06d}" not in valid)
    _code_step(ctx, wrong, 401)


def s_mfa_ok(ctx):
    # The enrolment used this step's code; the next step's is within the drift and unused.
    _code_step(ctx, ctx.totp.at(dt.datetime.now(dt.UTC), counter_offset=1), 303)


def s_admin_creates_therapist(ctx):
    _post(ctx, "root", "/admin/therapists", {"username": "dee", "password": PASSWORD, "role": "therapist"},
          csrf_from="/admin/therapists")


def s_admin_disables_therapist(ctx):
    _post(ctx, "root", "/admin/therapists/dee/active", {"active": "false"}, csrf_from="/admin/therapists")


def s_emergency_grant(ctx):
    _post(ctx, "root", "/admin/emergency", {"therapist": "ann", "client_code": "A.1", "reason": REASON,
                                            "duration_h": "4"}, csrf_from="/admin/emergency")
    with ctx.db() as db:
        ctx.ids["grant"] = db.scalar(select(func.max(emergency.EmergencyAccess.id)))


def s_emergency_read(ctx):
    _get(ctx, "root", f"/clients/{ctx.ids['A']}")


def s_emergency_export_refused(ctx):
    _get(ctx, "root", f"/clients/{ctx.ids['A']}/export/fhir.json", expect=404)


def s_emergency_revoke(ctx):
    _post(ctx, "root", f"/admin/emergency/{ctx.ids['grant']}/revoke", {}, csrf_from="/admin/emergency")


def s_backup(ctx):
    out = _cli(ctx, "backup", "create", str(ctx.tmp / "clinic-backup.zip"))
    assert "backup written" in out


def s_restore(ctx):
    target = ctx.tmp / "restored.sqlite3"
    out = _cli(ctx, "backup", "restore", str(ctx.tmp / "clinic-backup.zip"), "--to", f"sqlite:///{target}")
    assert "restore" in out.lower()
    # The restore's own row lives in the restored database, after the rows the archive carried.
    from cadenza.clinic.db import make_engine

    engine = make_engine(f"sqlite:///{target}")
    try:
        with make_session_factory(engine)() as db:
            ctx.elsewhere = _observe(db, ctx.ids["before_backup"], ctx.labels)
    finally:
        engine.dispose()


def s_audit_verify(ctx):
    out = _cli(ctx, "audit", "verify")
    assert out.startswith("audit chain OK")


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Ctx], None]
    expected: tuple[Row, ...]
    gap: str = ""  # an expected row is missing: file, function, missing event
    repeats: str = ""  # every expected row is there, but some more than once: where the repeats come from


def _rows(*rows: Row) -> tuple[Row, ...]:
    return rows


A, N, ANON, SYSTEM = "A", "N", "anonymous", "system"
FAILED = ("login_failed", "therapist", ANON, None)
LOCKED = ("login_lockout", "therapist", ANON, None)
# Action -> the audit rows it must leave. A client-data action writes the access-check row
# (get_client_for_actor / _visible_session: read, update, export ... on the client or session) and the
# row of the entity it touched; the tables in docs/clinic.md "Audited events" explain each name.
STEPS: tuple[Step, ...] = (
    Step("login failed (wrong password)", s_login_failed, _rows(FAILED)),
    Step("account lockout (5 wrong passwords)", s_lockout,
         _rows(*[FAILED] * (auth.MAX_FAILURES_PER_ACCOUNT - 1), LOCKED)),
    Step("login refused while locked out", s_login_while_locked, _rows(LOCKED)),
    Step("login ok", s_login_ok, _rows(("login", "therapist", "ann", None))),
    Step("dashboard (clients, sessions, goals)", s_dashboard,
         _rows(("list", "client", "ann", None), ("list", "therapy_session", "ann", None),
               ("list", "goal", "ann", None))),
    Step("create client", s_create_client, _rows(("create", "client", "ann", A))),
    Step("read client", s_read_client, _rows(("read", "client", "ann", A))),
    Step("update client", s_update_client, _rows(("update", "client", "ann", A))),
    Step("create goal", s_create_goal, _rows(("update", "client", "ann", A), ("create", "goal", "ann", A))),
    Step("API token create (API login)", s_token_via_api, _rows(("create", "api_token", "ann", None))),
    Step("API token refused (wrong password)", s_token_via_api_failed, _rows(FAILED)),
    Step("update goal (API)", s_update_goal, _rows(("read", "goal", "ann", A), ("update", "goal", "ann", A))),
    Step("record session with measurements", s_record_session,
         _rows(("update", "client", "ann", A), ("create", "therapy_session", "ann", A),
               ("create", "measurement", "ann", A), ("create", "measurement", "ann", A))),
    Step("edit session (versioned)", s_edit_session,
         _rows(("read", "therapy_session", "ann", A), ("update", "therapy_session", "ann", A))),
    Step("read session", s_read_session, _rows(("read", "therapy_session", "ann", A), ("read", "client", "ann", A))),
    Step("sign note", s_sign, _rows(("read", "therapy_session", "ann", A), ("sign", "therapy_session", "ann", A))),
    Step("add addendum", s_addendum,
         _rows(("read", "therapy_session", "ann", A), ("update", "therapy_session", "ann", A),
               ("create", "session_addendum", "ann", A))),
    Step("read progress chart", s_progress_chart, _rows(("read", "client", "ann", A), ("read", "goal", "ann", A))),
    Step("FHIR export (page)", s_fhir_export,
         _rows(("export", "client", "ann", A), ("export", "fhir_bundle", "ann", A))),
    Step("CSV export (page)", s_csv_export,
         _rows(("export", "client", "ann", A), ("export", "measurement_csv", "ann", A))),
    Step("FHIR export (API)", s_fhir_export_api,
         _rows(("export", "client", "ann", A), ("export", "fhir_bundle", "ann", A))),
    Step("printable report", s_report, _rows(("read", "client", "ann", A), ("read", "client_report", "ann", A))),
    Step("read audit trail (API)", s_audit_trail_api,
         _rows(("read", "client", "ann", A), ("read", "audit_event", "ann", A))),
    Step("API token create (account page)", s_token_page_create, _rows(("create", "api_token", "ann", None))),
    Step("API token revoke (account page)", s_token_page_revoke, _rows(("revoke", "api_token", "ann", None))),
    Step("authorisation denial (another therapist's client)", s_denied_page, _rows(("not_found", "client", "bob", A))),
    Step("password change refused (wrong current password)", s_password_change_refused,
         _rows(("password_failed", "therapist", "bob", None))),
    Step("password change", s_password_change, _rows(("update", "therapist", "bob", None))),
    Step("client show (CLI)", s_cli_client_show,
         _rows(("read", "client", "ann", A), ("read", "goal", "ann", A), ("read", "measurement", "ann", A))),
    # The command line finds the client by code first (an audited read), then exports.
    Step("CSV export (CLI)", s_cli_csv_export,
         _rows(("read", "client", "ann", A), ("export", "client", "ann", A), ("export", "measurement_csv", "ann", A))),
    Step("sound-dose entry", s_sound_dose,
         _rows(("update", "client", "ann", A), ("create", "sound_dose_entry", "ann", A))),
    Step("safety page", s_safety_page, _rows(("read", "client", "ann", A))),
    Step("RAS page", s_ras_page, _rows(("read", "client", "ann", A))),
    Step("RAS plan (write)", s_ras_plan, _rows(("update", "client", "ann", A), ("create", "ras_plan", "ann", A))),
    Step("MIT page", s_mit_page, _rows(("read", "client", "ann", A))),
    Step("MIT phrase (write)", s_mit_phrase, _rows(("update", "client", "ann", A), ("create", "mit_phrase", "ann", A))),
    Step("create NICU client", s_create_nicu_client, _rows(("create", "client", "ann", N))),
    Step("NICU page", s_nicu_page, _rows(("read", "client", "ann", N))),
    Step("NICU thresholds (write)", s_nicu_thresholds,
         _rows(("read", "client", "ann", N), ("update", "infant_threshold", "ann", N))),
    Step("library page", s_library_page, _rows(("read", "client", "ann", A))),
    # The client is authorised once, for the change (it used to be read first, then authorised again).
    Step("library red flag (write)", s_library_red_flag,
         _rows(("update", "client", "ann", A), ("update", "library_track", "ann", A))),
    Step("logout", s_logout, _rows(("logout", "therapist", "ann", None))),
    Step("session timeout (idle)", s_session_timeout, _rows(("timeout", "therapist", SYSTEM, None))),
    Step("admin login (before two-factor enrolment)", s_admin_login, _rows(("login", "therapist", "root", None))),
    Step("MFA enrol", s_mfa_enrol, _rows(("mfa_enable", "therapist", "root", None))),
    Step("admin logout", s_admin_logout, _rows(("logout", "therapist", "root", None))),
    Step("MFA code failed", s_mfa_failed, _rows(("mfa_failed", "therapist", "root", None))),
    Step("MFA code ok", s_mfa_ok, _rows(("login", "therapist", "root", None))),
    Step("admin creates therapist", s_admin_creates_therapist, _rows(("create", "therapist", "root", None))),
    Step("admin disables therapist", s_admin_disables_therapist, _rows(("update", "therapist", "root", None))),
    Step("emergency grant", s_emergency_grant, _rows(("grant_emergency", "emergency_access", "root", A))),
    Step("read under emergency grant", s_emergency_read,
         _rows(("read", "client", "root", A), ("read_emergency", "emergency_access", "root", A))),
    Step("export refused under emergency grant", s_emergency_export_refused, _rows(("not_found", "client", "root", A))),
    Step("emergency revoke", s_emergency_revoke, _rows(("revoke_emergency", "emergency_access", "root", A))),
    Step("two-factor reset for a lost phone (CLI)", s_cli_reset_mfa, _rows(("mfa_reset", "therapist", SYSTEM, None))),
    Step("backup create (CLI)", s_backup, _rows(("backup", "backup", SYSTEM, None))),
    Step("restore into an empty database (CLI)", s_restore, _rows(("restore", "backup", SYSTEM, None))),
    # Read-only by design: it must not extend the chain it checks (docs/clinic.md, Verify).
    Step("audit verify (CLI)", s_audit_verify, _rows()),
)


def _observe(db: Session, after_id: int, labels: dict[int, str]) -> list[Row]:
    events = db.scalars(select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id))
    return [(e.action, e.entity, e.actor_username, labels.get(e.client_id, e.client_id)) for e in events]


def _setup(ctx: Ctx) -> None:
    with ctx.db() as db:
        for name, role in (("ann", "therapist"), ("bob", "therapist"), ("cy", "therapist"), ("root", "admin"),
                           ("sue", "admin")):
            ctx.ids[name] = service.create_therapist(db, actor=None, username=name, password=PASSWORD, role=role).id
        db.commit()


def _before_step(ctx: Ctx, step: Step) -> None:
    """Setup a step needs that is not the step's own action (not counted in its audit rows)."""
    if step.run is s_denied_page:
        _login(ctx, "bob")
    elif step.run is s_session_timeout:
        _login(ctx, "ann")
    elif step.run is s_backup:
        with ctx.db() as db:
            ctx.ids["before_backup"] = db.scalar(select(func.max(AuditEvent.id)))
    elif step.run is s_library_red_flag:
        with ctx.db() as db:
            actor = db.get(service.Therapist, ctx.ids["ann"])
            ctx.ids["track"] = ctx.authz.library.make_track(db, actor, ctx.ids["A"])["track_id"]
            db.commit()


@dataclass
class ScriptResult:
    observed: dict[str, list[Row]]
    chain_ok: bool
    chain_summary: str


@pytest.fixture(scope="module")
def script(db_engine, database_url, tmp_path_factory, authz_modules) -> ScriptResult:
    tmp = tmp_path_factory.mktemp("audit_script")
    factory = make_session_factory(db_engine)
    app = create_app(Settings(database_url=database_url, data_dir=tmp), session_factory=factory)
    ctx = Ctx(app=app, engine=db_engine, url=database_url, tmp=tmp, authz=authz_modules)
    _setup(ctx)
    observed: dict[str, list[Row]] = {}
    try:
        for step in STEPS:
            _before_step(ctx, step)
            with ctx.db() as db:
                mark = db.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
            ctx.elsewhere = None
            step.run(ctx)
            with ctx.db() as db:
                observed[step.name] = _observe(db, mark, ctx.labels)
            if ctx.elsewhere is not None:
                observed[step.name] += ctx.elsewhere
    finally:
        for browser in ctx.browsers.values():
            browser.__exit__(None, None, None)
    with db_engine.connect() as connection:
        report = verify_chain(connection)
        connection.rollback()
    return ScriptResult(observed=observed, chain_ok=report.ok, chain_summary=report.summary())


def _complete(step: Step, got: list[Row]) -> bool:
    return set(got) == set(step.expected)


def _exact(step: Step, got: list[Row]) -> bool:
    return Counter(got) == Counter(step.expected)


def _table(observed: dict[str, list[Row]]) -> str:
    """Action -> expected and (where they differ) observed rows, with the measured coverage."""
    lines = []
    for step in STEPS:
        got = observed[step.name]
        verdict = "OK  " if _exact(step, got) else ("REPT" if _complete(step, got) else "MISS")
        lines.append(f"{verdict} {step.name}: expected {list(step.expected)}")
        if verdict != "OK  ":
            lines.append(f"       observed {got}")
    complete = sum(_complete(s, observed[s.name]) for s in STEPS)
    exact = sum(_exact(s, observed[s.name]) for s in STEPS)
    lines.append(f"audited completely: {complete}/{len(STEPS)}; exactly once: {exact}/{len(STEPS)}")
    return "\n".join(lines)


def _param(step: Step, reason: str):
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(step, id=step.name, marks=marks)


@pytest.mark.parametrize("step", [_param(s, s.gap) for s in STEPS])
def test_each_action_leaves_every_expected_audit_row_and_no_other_kind(script, step):
    got = script.observed[step.name]
    assert _complete(step, got), (
        f"{step.name}: missing {sorted(set(step.expected) - set(got), key=str)}, "
        f"unexpected {sorted(set(got) - set(step.expected), key=str)}\n\n{_table(script.observed)}")


@pytest.mark.parametrize("step", [_param(s, s.gap or s.repeats) for s in STEPS])
def test_each_action_leaves_its_audit_rows_exactly_once(script, step):
    got = script.observed[step.name]
    assert _exact(step, got), f"{step.name}: expected {list(step.expected)}, observed {got}\n\n{_table(script.observed)}"


def test_audit_coverage_is_100_percent_except_the_declared_gaps(script):
    assert len(STEPS) >= 40 and len({s.name for s in STEPS}) == len(STEPS)
    incomplete = {s.name for s in STEPS if not _complete(s, script.observed[s.name])}
    declared = {s.name for s in STEPS if s.gap}
    covered = [s for s in STEPS if not s.gap]
    # 100 % of the actions whose owning modules audit them; the declared gaps are listed with their file.
    assert incomplete == declared, (
        f"undeclared gaps {sorted(incomplete - declared)}; declared gaps now audited {sorted(declared - incomplete)}"
        f"\n\n{_table(script.observed)}")
    assert all(_complete(s, script.observed[s.name]) for s in covered)
    repeated = {s.name for s in STEPS if _complete(s, script.observed[s.name]) and not _exact(s, script.observed[s.name])}
    assert repeated == {s.name for s in STEPS if s.repeats and not s.gap}, _table(script.observed)


def test_rows_on_client_data_name_the_actor_and_the_client(script):
    rows = [row for step in STEPS for row in script.observed[step.name]]
    assert all(actor for _action, _entity, actor, _client in rows)
    client_entities = {"client", "goal", "therapy_session", "measurement", "session_addendum", "fhir_bundle",
                       "measurement_csv", "client_report", "emergency_access", "sound_dose_entry", "ras_plan",
                       "mit_phrase", "infant_threshold", "library_track"}
    # A list spans all of the actor's clients, so it names none.
    unnamed = [row for row in rows if row[1] in client_entities and row[3] is None and row[0] != "list"]
    assert not unnamed, unnamed
    # Nobody is logged in before a login succeeds: refused attempts never name an account as the actor.
    assert all(row[2] == ANON for row in rows if row[0] in ("login_failed", "login_lockout"))


def test_audit_chain_is_valid_after_the_script(script):
    assert script.chain_ok, script.chain_summary
