"""The client page as the hub: tool links from the router registry, NICU tools only for NICU infants,
the weekly dose summary, and no audio that starts by itself on any page about a seizure-flagged client."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from cadenza.clinic import listening, service
from cadenza.web.routes import CLIENT_TOOLS, ClientTool, registered_client_tools


def _client(db_session, owner, code: str, flags=()):
    client = service.create_client(db_session, actor=owner, code=code, safety_flags=list(flags))
    db_session.commit()
    return client


def _tools_section(html: str) -> str:
    return re.search(r'<h2 id="tools">.*?(?=<h2 id="goals">)', html, re.S).group(0)


def _get_paths(app) -> set[str]:
    return {c.path for c in iter_route_contexts(app.routes) if "GET" in (getattr(c, "methods", None) or ())}


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_registry_links_only_pages_the_app_serves():
    app = FastAPI()
    app.add_api_route("/clients/{client_id}/gait", lambda client_id: {}, methods=["GET"])
    app.add_api_route("/clients/{client_id}/ras", lambda client_id: {}, methods=["POST"])  # no page to link
    assert [t.path for t in registered_client_tools(app)] == ["/clients/{client_id}/gait"]


def test_client_tool_checks_its_declaration():
    with pytest.raises(ValueError, match="path"):
        ClientTool("/gait", "Gait", "no client in the path")
    with pytest.raises(ValueError, match="audience"):
        ClientTool("/clients/{client_id}/x", "X", "y", audience="everyone")
    tool = ClientTool("/clients/{client_id}/x", "X", "y", audience="nicu")
    assert tool.url(7) == "/clients/7/x"
    assert tool.shown_for(nicu_infant=True) and not tool.shown_for(nicu_infant=False)


def test_client_page_links_every_registered_tool_and_each_link_works(web_app, make_therapist, login_as,
                                                                     db_session):
    ann = make_therapist("ann")
    client = _client(db_session, ann, "HUB.1", flags=["hearing_loss"])
    browser = login_as("ann")
    page = browser.get(f"/clients/{client.id}")
    assert page.status_code == 200
    tools = _tools_section(page.text)
    linked = [h for h in _hrefs(tools) if h.startswith(f"/clients/{client.id}/")]
    expected = [t.url(client.id) for t in web_app.state.client_tools if t.audience != "nicu"]
    assert linked == expected
    served = _get_paths(web_app)
    assert {"/clients/{client_id}/gait", "/clients/{client_id}/safety"} <= served
    for tool in CLIENT_TOOLS:  # unregistered pages (e.g. one still being written) are not linked
        if tool.path not in served:
            assert tool.url(client.id) not in page.text
    for href in linked:
        assert browser.get(href).status_code == 200, href
    assert f"/clients/{client.id}/nicu" not in page.text  # not an NICU infant: no NICU tools at all
    assert 'id="nicu-tools"' not in page.text


def test_nicu_infant_page_puts_nicu_tools_first_and_drops_walking_and_speech_tools(web_app, make_therapist,
                                                                                  login_as, db_session):
    ann = make_therapist("ann")
    client = _client(db_session, ann, "NICU.1", flags=["nicu_infant"])
    browser = login_as("ann")
    page = browser.get(f"/clients/{client.id}").text
    nicu = re.search(r'<section class="card nicu-tools".*?</section>', page, re.S).group(0)
    assert f'href="/clients/{client.id}/nicu"' in nicu
    assert page.index('id="nicu-tools"') < page.index('id="tools"') < page.index('id="goals"')
    tools = _tools_section(page)
    for hidden in ("gait", "ras", "mit"):
        assert f"/clients/{client.id}/{hidden}" not in page
    assert f"/clients/{client.id}/safety" in tools
    assert browser.get(f"/clients/{client.id}/nicu").status_code == 200


def test_client_page_shows_the_weekly_dose(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    adult = _client(db_session, ann, "DOSE.1")
    sensitive = _client(db_session, ann, "DOSE.2", flags=["hearing_loss"])
    now = dt.datetime.now(dt.UTC)
    for client in (adult, sensitive):
        # 4 h at 80 dB(A) is a tenth of the adult weekly allowance (WHO/ITU-T H.870: 80 dB(A), 40 h).
        listening.add_dose_entry(db_session, actor=ann, client_id=client.id, level_dba=80.0,
                                 duration_s=4 * 3600, started_at=now - dt.timedelta(days=1))
        listening.add_dose_entry(db_session, actor=ann, client_id=client.id, level_dba=80.0,
                                 duration_s=4 * 3600, started_at=now - dt.timedelta(days=10))  # outside
    db_session.commit()
    browser = login_as("ann")
    summary = re.search(r'id="dose-summary".*?</p>', browser.get(f"/clients/{adult.id}").text, re.S).group(0)
    assert "10.0 %" in summary and "adult" in summary and "1 listening period" in summary
    summary = re.search(r'id="dose-summary".*?</p>', browser.get(f"/clients/{sensitive.id}").text, re.S).group(0)
    assert "31.6 %" in summary and "sensitive" in summary  # 75 dB(A) for 40 h: 10^0.5 times the dose share


def test_session_page_offers_gait_analysis_for_that_session(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    client = _client(db_session, ann, "GAIT.1")
    row = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 20),
                                 minutes=30, intervention_code="ras_gait_training")
    db_session.commit()
    browser = login_as("ann")
    page = browser.get(f"/clients/{client.id}/sessions/{row.id}").text
    link = f"/clients/{client.id}/gait?session_id={row.id}"
    assert f'href="{link}"' in page
    gait = browser.get(link)
    assert gait.status_code == 200
    assert re.search(rf'<option value="{row.id}" selected>', gait.text)


AUTOPLAY = re.compile(r"<(audio|video)\b[^>]*\bautoplay", re.I)


def test_no_page_about_a_seizure_flagged_client_starts_audio(web_app, make_therapist, login_as, db_session):
    """Rendered pages, not only template sources: every client page with no other ids, for a seizure-flagged
    adult and a seizure-flagged NICU infant; every audio element needs a deliberate press on play."""
    ann = make_therapist("ann")
    clients = [_client(db_session, ann, "SEIZ.1", flags=["seizures"]),
               _client(db_session, ann, "SEIZ.2", flags=["seizures", "nicu_infant"])]
    browser = login_as("ann")
    pages = sorted(p for p in _get_paths(web_app)
                   if p.startswith("/clients/{client_id}") and re.findall(r"\{(\w+)\}", p) == ["client_id"]
                   and not re.search(r"\.(wav|png|csv|json|m3u8?|xspf)$", p))  # pages, not rendered files
    checked = with_audio = 0
    for client in clients:
        for path in pages:
            response = browser.get(path.replace("{client_id}", str(client.id)))
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            checked += 1
            assert not AUTOPLAY.search(response.text), path
            for tag in re.findall(r"<audio\b[^>]*>", response.text, re.I):
                assert "controls" in tag and 'preload="none"' in tag, (path, tag)
            if "<audio" in response.text.lower():  # a player: the policy is stated next to it
                with_audio += 1
            is_page = "<html" in response.text  # htmx fragments (e.g. the songs page's rhymes) sit inside a page
            if response.status_code == 200 and is_page and not path.endswith("/edit"):  # the edit form: flags as boxes
                assert "never starts by itself" in response.text, path
    assert checked >= 8 and with_audio >= 2
    session = service.record_session(db_session, actor=ann, client_id=clients[0].id, session_date=dt.date(2026, 11, 2),
                                     minutes=20, intervention_code="receptive_listening")
    db_session.commit()
    assert "never starts by itself" in browser.get(f"/clients/{clients[0].id}/sessions/{session.id}").text
