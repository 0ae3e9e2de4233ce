"""Evidence explorer page and API: filters agree with the catalog query, caveats are shown."""

from __future__ import annotations

from cadenza.evidence import query as evidence


def test_evidence_page_lists_every_entry_with_its_caveat(make_therapist, login_as):
    make_therapist("ann")
    page = login_as("ann").get("/evidence")
    assert page.status_code == 200
    for entry in evidence.list_entries():
        assert f'id="entry-{entry.id}"' in page.text
    assert page.text.count("Caveat:") == len(evidence.list_entries())


def test_evidence_filters_match_the_catalog_query(make_therapist, login_as):
    make_therapist("ann")
    browser = login_as("ann")
    expected = {e.id for e in evidence.find_entries(outcome="gait velocity")}
    assert expected
    page = browser.get("/evidence", params={"outcome": "gait velocity", "condition": "", "q": ""})
    shown = {e.id for e in evidence.list_entries() if f'id="entry-{e.id}"' in page.text}
    assert shown == expected
    code = evidence.list_interventions()[0].code
    expected = {e.id for e in evidence.find_entries(intervention=code)}
    page = browser.get("/evidence", params={"intervention": code})
    assert {e.id for e in evidence.list_entries() if f'id="entry-{e.id}"' in page.text} == expected


def test_evidence_api_filters_and_needs_a_token(client, make_therapist, api_token_for):
    assert client.get("/api/v1/evidence").status_code == 401
    make_therapist("ann")
    headers = api_token_for("ann")
    everything = client.get("/api/v1/evidence", headers=headers).json()
    assert len(everything) == len(evidence.list_entries())
    dementia = client.get("/api/v1/evidence", params={"condition": "dementia"}, headers=headers).json()
    assert [e["id"] for e in dementia] == [e.id for e in evidence.find_entries(condition="dementia")]
    assert all(e["caveat"] for e in dementia)
    interventions = client.get("/api/v1/interventions", headers=headers).json()
    assert {i["mode"] for i in interventions} <= {"active", "receptive"}
    assert len(interventions) == len(evidence.list_interventions())
