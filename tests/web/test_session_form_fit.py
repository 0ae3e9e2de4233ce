"""The session form, shorter and fitted to the client (walk-through problem 5)."""

from __future__ import annotations

import datetime as dt
import re

from cadenza.clinic import service


def test_walkthrough_p5_the_clients_measures_come_first_and_the_last_plan_can_be_copied(db_session, make_therapist,
                                                                                        login_as):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="vas_anxiety", baseline=65,
                        target=30)
    service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 29), minutes=35,
                           intervention_code="songwriting", setting="ward 4", plan="Finish the second verse")
    db_session.commit()
    browser = login_as("ann")
    form = browser.get(f"/clients/{client.id}/sessions/new").text
    measures = re.findall(r'<details class="card" id="instrument-([a-z0-9_]+)"', form)
    assert measures[0] == "vas_anxiety"  # the goal's measure first, not in alphabetical order
    headings = re.findall(r"<h3>(This client&#39;s goals|Other measures|Measures the tools usually store)</h3>", form)
    assert headings == ["This client&#39;s goals", "Other measures", "Measures the tools usually store"]
    tools = form[form.index("Measures the tools usually store"):]
    assert 'id="instrument-ras_mean_asynchrony_ms"' in tools and 'id="instrument-stai6"' not in tools
    assert form.count('<details class="evidence">') == form.count('name="intervention_code"')  # evidence folded

    copied = browser.get(f"/clients/{client.id}/sessions/new?copy=last").text
    assert "Finish the second verse" in copied and 'value="songwriting" checked' in copied
    assert 'value="ward 4"' in copied and 'id="f-minutes" name="minutes" type="number" value="35"' in copied
    assert browser.get(f"/clients/{client.id}/sessions/new?copy=other").status_code == 422
