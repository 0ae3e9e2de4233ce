"""The hearing-safety page and the sound-dose API: one audited read per view, flags change what is shown,
and the entry list agrees with the weekly total."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from cadenza.clinic import auth, listening, service
from cadenza.clinic.models import AuditEvent

HOUR_S = 3600.0


def _client_events(db_session, client_id: int) -> int:
    return db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.client_id == client_id))


def _add(db_session, actor, client_id, *, label, days_ago, hours, level_dba=80.0):
    listening.add_dose_entry(db_session, actor=actor, client_id=client_id, level_dba=level_dba,
                             duration_s=hours * HOUR_S, label=label,
                             started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago))


def _row_percents(page: str) -> dict[str, float]:
    """Label -> the row's 'Dose % this week' cell."""
    out = {}
    for row in re.findall(r"<tr><td>.*?</tr>", page, flags=re.S):
        label = re.search(r"· (\w+)</td>", row)
        cells = re.findall(r"<td>([^<]*)</td>", row)
        out[label.group(1)] = float(cells[-1])
    return out


def make_client(db_session, nurse, code, flags):
    c = service.create_client(db_session, actor=nurse, code=code, safety_flags=flags)
    db_session.commit()
    return c


def _api_headers(db_session, therapist) -> dict[str, str]:
    secret, _ = auth.create_api_token(db_session, therapist_id=therapist.id, label="test")
    db_session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_one_page_view_writes_one_audit_row(logged_in, db_session, nurse):
    rec = service.create_client(db_session, actor=nurse, code="SAF.1")
    _add(db_session, nurse, rec.id, label="recent", days_ago=1, hours=4)
    listening.record_calibration(db_session, actor=nurse, client_id=rec.id, measured_level_dba=72.0)
    headers = _api_headers(db_session, nurse)
    before = _client_events(db_session, rec.id)
    page = logged_in.get(f"/clients/{rec.id}/safety")
    assert page.status_code == 200 and "10.0 %" in page.text and "72.0 dB(A)" in page.text
    assert _client_events(db_session, rec.id) == before + 1
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.client_id == rec.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.entity, event.actor_username) == ("read", "client", "nurse")
    # The JSON dose read is one audited read too.
    api = logged_in.get(f"/api/v1/clients/{rec.id}/sound-dose", headers=headers)
    assert api.status_code == 200 and api.json()["dose_percent"] == 10.0
    assert _client_events(db_session, rec.id) == before + 2


def test_the_page_authorises_the_client_once(logged_in, db_session, nurse, monkeypatch):
    """The page reads its client once and passes it down (policy, calibration, week, entries)."""
    from cadenza.clinic import access, service as service_module

    rec = make_client(db_session, nurse, "SAF.5", ["hearing_loss"])
    _add(db_session, nurse, rec.id, label="recent", days_ago=1, hours=1)
    db_session.commit()
    calls = []
    for module in (access, service_module):
        authorise = module.get_client_for_actor
        monkeypatch.setattr(module, "get_client_for_actor", lambda *a, _authorise=authorise, **k:
                            calls.append(k.get("client_id")) or _authorise(*a, **k))
    assert logged_in.get(f"/clients/{rec.id}/safety").status_code == 200
    assert calls == [rec.id]


def test_entry_running_into_the_week_is_listed_and_counted(logged_in, db_session, nurse):
    client = service.create_client(db_session, actor=nurse, code="SAF.2")
    # 80 dB(A) for 40 h is 100 % of the adult allowance; 2 days from 8 days ago leaves 24 h inside the week.
    _add(db_session, nurse, client.id, label="straddles", days_ago=8, hours=48)
    _add(db_session, nurse, client.id, label="recent", days_ago=2, hours=1)
    _add(db_session, nurse, client.id, label="old", days_ago=20, hours=3)
    _add(db_session, nurse, client.id, label="ended", days_ago=9, hours=24)  # ended two days before the week
    db_session.commit()
    page = logged_in.get(f"/clients/{client.id}/safety")
    assert page.status_code == 200
    rows = _row_percents(page.text)
    assert set(rows) == {"straddles", "recent"}
    assert abs(rows["straddles"] - 60.0) < 0.01 and abs(rows["recent"] - 2.5) < 0.01
    assert "62.5 %" in page.text
    assert "started before the week; 1440 min fall inside it" in page.text
    # newest first
    assert page.text.index("· recent") < page.text.index("· straddles")


def test_empty_week_says_so(logged_in, db_session, nurse):
    client = service.create_client(db_session, actor=nurse, code="SAF.3")
    _add(db_session, nurse, client.id, label="old", days_ago=30, hours=2)
    db_session.commit()
    page = logged_in.get(f"/clients/{client.id}/safety")
    assert page.status_code == 200 and "0.0 %" in page.text and "No listening recorded in the last 7 days" in page.text


def test_dose_ledger_page_add_listening_and_warning(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "A001", [])
    page = logged_in.get(f"/clients/{c.id}/safety")
    assert page.status_code == 200 and "0.0 %" in page.text and "autoplay" not in page.text
    token = logged_in.csrf(f"/clients/{c.id}/safety")
    r = logged_in.post(f"/clients/{c.id}/safety/listening",
                       data={"level_dba": "80", "minutes": "2400", "source": "playlist", "csrf_token": token})
    assert r.status_code == 303
    page = logged_in.get(f"/clients/{c.id}/safety")
    assert "100.0 %" in page.text and "lower the volume" in page.text
    bad = logged_in.post(f"/clients/{c.id}/safety/listening",
                         data={"level_dba": "loud", "minutes": "10", "csrf_token": token})
    assert bad.status_code == 422 and "level_dba must be a number" in bad.text


def test_hearing_loss_page_shows_sensitive_mode_and_cap(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "H001", ["hearing_loss"])
    listening.add_dose_entry(db_session, actor=nurse, client_id=c.id, level_dba=75.0, duration_s=20 * 3600,
                             started_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=21))
    db_session.commit()
    page = logged_in.get(f"/clients/{c.id}/safety").text
    assert "cap: 75 dB(A)" in page and "sensitive" in page and re.search(r"50\.0 %", page)


def test_seizure_flag_no_autoplay(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "N002", ["nicu_infant", "seizures"])
    page = logged_in.get(f"/clients/{c.id}/safety").text
    assert "never starts by itself" in page and "triggers" in page
    assert "autoplay" not in page.lower()


def test_calibration_form_and_tone(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "A002", [])
    token = logged_in.csrf(f"/clients/{c.id}/safety")
    assert logged_in.post(f"/clients/{c.id}/safety/calibration",
                          data={"measured_level_dba": "64", "device": "incubator",
                                "csrf_token": token}).status_code == 303
    assert "64.0 dB(A) on incubator" in logged_in.get(f"/clients/{c.id}/safety").text
    bad = logged_in.post(f"/clients/{c.id}/safety/calibration",
                         data={"measured_level_dba": "500", "csrf_token": token})
    assert bad.status_code == 422 and "measured_level_dba" in bad.text
    tone = logged_in.get(f"/clients/{c.id}/safety/tone.wav")
    assert tone.status_code == 200 and tone.headers["content-type"] == "audio/wav"


def test_other_therapists_client_is_not_found(web_browser, db_session, nurse, make_therapist):
    client = make_client(db_session, nurse, "SAF.4", [])
    make_therapist("bob")
    assert web_browser.log_in("bob").status_code == 303
    assert web_browser.get(f"/clients/{client.id}/safety").status_code == 404
    assert web_browser.get(f"/clients/{client.id}/safety/tone.wav").status_code == 404


def test_trauma_flag_caution(logged_in, db_session, nurse):
    c = make_client(db_session, nurse, "N006", ["nicu_infant", "trauma_history"])
    page = logged_in.get(f"/clients/{c.id}/safety").text
    assert "Trauma history: caution with intense or highly emotional material." in page
    plain = make_client(db_session, nurse, "A006", [])
    assert "Trauma history" not in logged_in.get(f"/clients/{plain.id}/safety").text


def test_sound_dose_json_api(web_browser, db_session, nurse):
    c = make_client(db_session, nurse, "H007", ["hearing_loss"])
    headers = _api_headers(db_session, nurse)
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=21)).isoformat()
    r = web_browser.post(f"/api/v1/clients/{c.id}/sound-dose", headers=headers,
                         json={"level_dba": 75.0, "duration_s": 20 * 3600, "started_at": start, "source": "playlist"})
    assert r.status_code == 201, r.text
    assert r.json()["mode"] == "sensitive" and r.json()["dose_percent"] == pytest.approx(50.0, abs=0.01)
    got = web_browser.get(f"/api/v1/clients/{c.id}/sound-dose", headers=headers).json()
    assert got["policy"]["max_level_dba"] == 75.0
    bad = web_browser.post(f"/api/v1/clients/{c.id}/sound-dose", headers=headers,
                           json={"level_dba": 75.0, "duration_s": 60, "source": "radio"})
    assert bad.status_code == 422 and "source" in bad.text
    assert web_browser.post(f"/api/v1/clients/{c.id}/sound-dose", headers=headers,
                            json={"level_dba": 75.0, "duration_s": 60, "therapist_id": 1}).status_code == 422
    assert "/api/v1/clients/{client_id}/sound-dose" in web_browser.get("/api/v1/openapi.json").json()["paths"]


def test_an_api_entry_without_a_start_starts_now(web_browser, db_session, nurse):
    """Without ``started_at`` the API enters the period from now on (the page's form enters one that just ended)."""
    c = make_client(db_session, nurse, "H008", [])
    headers = _api_headers(db_session, nurse)
    before = dt.datetime.now(dt.UTC)
    r = web_browser.post(f"/api/v1/clients/{c.id}/sound-dose", headers=headers,
                         json={"level_dba": 80.0, "duration_s": 3600})
    assert r.status_code == 201, r.text
    (entry,) = db_session.scalars(select(listening.SoundDoseEntry).where(listening.SoundDoseEntry.client_id == c.id))
    started = entry.started_at if entry.started_at.tzinfo else entry.started_at.replace(tzinfo=dt.UTC)
    assert started >= before - dt.timedelta(seconds=1)


def test_w7_the_page_counts_a_child_in_the_childrens_mode(logged_in, db_session, nurse):
    """Clinical review W7: the hearing-safety page of a child without flags shows the sensitive (children's)
    dose mode, and the same 20 h at 75 dB(A) fill half of the child's weekly allowance."""
    child = service.create_client(db_session, actor=nurse, code="K001", birth_year=dt.datetime.now(dt.UTC).year - 6)
    listening.add_dose_entry(db_session, actor=nurse, client_id=child.id, level_dba=75.0, duration_s=20 * 3600,
                             started_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=21))
    db_session.commit()
    page = logged_in.get(f"/clients/{child.id}/safety").text
    assert "dose mode: sensitive" in page and re.search(r"50\.0 %", page)

