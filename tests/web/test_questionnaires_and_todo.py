"""Safety screening that can be done from the screen, and a to-do list (walk-through problem 3)."""

from __future__ import annotations

import datetime as dt
import re

from cadenza.clinic import service
from cadenza.clinic.service import MeasurementInput
from cadenza.web.questionnaires import QUESTIONNAIRES


def test_walkthrough_p3_questionnaire_items_show_their_text_and_answer_labels(db_session, make_therapist, login_as):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    db_session.commit()
    form = login_as("ann").get(f"/clients/{client.id}/sessions/new").text
    phq9 = form[form.index('id="instrument-phq9"'):]
    phq9 = phq9[:phq9.index("</details>")]
    assert "Over the last 2 weeks" in phq9
    assert '<label for="f-phq9.q9">9. Thoughts that you would be better off dead' in phq9
    # PHQ-9 answers carry their LOINC answer labels (clinical review W4), the others the local labels
    assert ">3 – Nearly every day</option>" in phq9 and ">0 – Not at all</option>" in phq9
    assert "Q1" not in phq9 and ">Q9<" not in phq9
    assert ">2 · Somewhat</option>" in form  # STAI-6 answers
    assert "Feeling nervous, anxious or on edge" in form  # GAD-7, as LOINC 69725-0 words it


def test_every_item_of_the_questionnaires_has_its_text():
    from cadenza.clinic.instruments import get_instrument

    for code, wording in QUESTIONNAIRES.items():
        instrument = get_instrument(code)
        assert set(wording.items) == set(instrument.items), code
        assert set(wording.answers) == set(range(instrument.item_min, instrument.item_max + 1)), code


def test_walkthrough_p3_the_dashboard_shows_notes_to_sign_and_item_9(db_session, make_therapist, login_as):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    today = dt.datetime.now(dt.UTC).date()
    draft = service.record_session(db_session, actor=ann, client_id=client.id, session_date=today, minutes=40,
                                   intervention_code="receptive_listening",
                                   measurements=[MeasurementInput("phq9", items=[1] * 9)])
    signed = service.record_session(db_session, actor=ann, client_id=client.id, session_date=today, minutes=30,
                                    intervention_code="receptive_listening")
    service.sign_session(db_session, actor=ann, session_id=signed.id, expected_version=signed.version)
    db_session.commit()
    page = login_as("ann").get("/").text
    todo = page[page.index('id="unsigned"'):]
    todo = todo[:todo.index("</section>")]
    assert f"/sessions/{draft.id}#signature" in todo and f"/sessions/{signed.id}" not in todo
    assert 'id="flagged"' in page  # PHQ-9 item 9 above "not at all"
    hub = login_as("ann").get(f"/clients/{client.id}").text
    assert len(re.findall(r"draft, to sign", hub)) == 1 and len(re.findall(r'class="badge">signed<', hub)) == 1
