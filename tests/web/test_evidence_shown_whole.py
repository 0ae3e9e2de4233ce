"""Every page that recommends or reports an intervention shows all its evidence (clinical review W8/W9):
supporting entries, entries that tested it without benefit, the intervention's note, each with its caveat,
the client's own conditions first."""

from __future__ import annotations

import datetime as dt
import html
import re

from cadenza.clinic import service
from cadenza.evidence import get_entry, get_intervention


def _client(db_session, actor, conditions):
    return service.create_client(db_session, actor=actor, code="EV-1", birth_year=1950, conditions=conditions)


def _text(page) -> str:
    return html.unescape(re.sub(r"\s+", " ", page.text))


def test_w8_w9_m6_report_and_session_form_show_the_whole_evidence_and_the_mcid(make_therapist, login_as, db_session):
    """One client, one log-in (the setup is the expensive part): the report (W8, M6), the client page (M6) and
    the session form (W9)."""
    ann = make_therapist("ann")
    client = _client(db_session, ann, ["autism", "dementia"])
    service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="nrs_pain", baseline=8, target=3)
    service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 2),
                           minutes=40, intervention_code="drumming_improvisation",
                           measurements=[service.MeasurementInput("nrs_pain", value=5)])
    db_session.commit()
    browser = login_as("ann")
    page = _text(browser.get(f"/clients/{client.id}/report"))
    # Review M6, on the same report and on the client page: 8 -> 5 is 3 points, past the MCID of 2 / 30 %.
    for shown in (page, _text(browser.get(f"/clients/{client.id}"))):
        assert "improvement +3 against an MCID of 2 or 30 % of baseline (recalled: Farrar" in shown
        assert "meets the MCID" in shown
    _check_session_form(_text(browser.get(f"/clients/{client.id}/sessions/new")))
    section = page[page.index('id="evidence-drumming_improvisation"'):]
    time_a, aalbers = get_entry("bieleninik2017_time_a"), get_entry("aalbers2017_depression")
    assert aalbers.caveat in section  # the supporting entry, as before
    assert "Tested without benefit" in section and time_a.citation in section and time_a.caveat in section
    assert get_intervention("drumming_improvisation").evidence_note in section
    # The entry on the client's condition (autism: TIME-A) is marked as theirs.
    plain = re.sub(r"<[^>]+>", "", section)
    assert "Matches this client's condition. Tested without benefit: " + time_a.citation in plain


def _check_session_form(page: str) -> None:
    """W9: every caveat of receptive listening, the client's condition (dementia) first."""
    start = page.index('value="receptive_listening"')
    block = page[start:page.index("</label>", start)]
    for entry_id in get_intervention("receptive_listening").supporting:  # cancer, CHD, pain, dementia
        assert get_entry(entry_id).caveat in block, entry_id
    dementia = get_entry("vandersteen2018_dementia")
    assert block.index(dementia.caveat) < block.index(get_entry("bradt2016_cancer").caveat)
    assert "little or no effect on agitation" in block and "evidence for this client's condition" in block
