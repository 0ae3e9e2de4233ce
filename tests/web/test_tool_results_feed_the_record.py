"""Tool results feed the record (walk-through problem 4): a value stored on a session by any form or tool
counts toward every goal on its instrument, and every measure taken more than once is charted."""

from __future__ import annotations

import datetime as dt

from cadenza.clinic import dashboard, progress, service
from cadenza.clinic.service import MeasurementInput


def _world(db_session, make_therapist):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001", conditions=["stroke"])
    goal = service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="cadence",
                               baseline=88, target=100, direction="increase", target_date=dt.date(2026, 12, 10))
    row = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 29),
                                 minutes=40, intervention_code="ras_gait_training")
    db_session.commit()
    return ann, client, goal, row


def test_walkthrough_p4_a_tool_result_counts_toward_the_goal_on_its_instrument(db_session, make_therapist, login_as):
    ann, client, goal, row = _world(db_session, make_therapist)
    # What the gait tool does with no goal named: a cadence measurement on the session.
    service.add_measurement(db_session, actor=ann, session_id=row.id, measurement=MeasurementInput("cadence", value=94.8))
    db_session.commit()

    page = login_as("ann").get(f"/clients/{client.id}").text
    card = page[page.index(f'id="goal-{goal.id}"'):]
    card = card[:card.index("</article>")]
    assert "Latest 94.8" in card and "No measurements yet" not in card
    assert dashboard.goal_series(db_session, actor=ann, client_id=client.id, goal_id=goal.id).values == [94.8]
    assert [p.value for p in progress.goal_progress(db_session, actor=ann, goal_id=goal.id).points] == [94.8]
    due = dashboard.goals_due(db_session, actor=ann, today=dt.date(2026, 12, 6))
    assert [(s.goal.id, s.latest_value) for s in due] == [(goal.id, 94.8)]


def test_an_unlinked_value_counts_toward_every_goal_on_its_instrument_a_linked_one_toward_its_goal(
        db_session, make_therapist):
    ann, client, goal, row = _world(db_session, make_therapist)
    other = service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="cadence",
                                baseline=88, target=95, direction="increase")
    service.add_measurement(db_session, actor=ann, session_id=row.id, measurement=MeasurementInput("cadence", value=96))
    overview = dashboard.client_overview(db_session, actor=ann, client_id=client.id)
    assert {(s.goal.id, s.latest_value, s.met) for s in overview.goals} == {(goal.id, 96, False), (other.id, 96, True)}
    service.add_measurement(db_session, actor=ann, session_id=row.id,
                            measurement=MeasurementInput("cadence", value=101, goal_id=goal.id))
    overview = dashboard.client_overview(db_session, actor=ann, client_id=client.id)
    assert {(s.goal.id, s.latest_value) for s in overview.goals} == {(goal.id, 101), (other.id, 96)}


def test_walkthrough_p4_every_measure_taken_more_than_once_is_charted(db_session, make_therapist, login_as):
    ann, client, _, _ = _world(db_session, make_therapist)
    stai = {"calm": 2, "tense": 3, "upset": 3, "relaxed": 2, "content": 2, "worried": 3}
    for day in (15, 22):
        service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, day),
                               minutes=40, intervention_code="receptive_listening",
                               measurements=[MeasurementInput("stai6", items=stai),
                                             MeasurementInput("nrs_pain", value=3) if day == 15 else
                                             MeasurementInput("vas_anxiety", value=40)])
    db_session.commit()
    browser = login_as("ann")
    page = browser.get(f"/clients/{client.id}").text
    assert f"/clients/{client.id}/measures/stai6/chart.png" in page
    assert "measures/nrs_pain" not in page and "measures/vas_anxiety" not in page  # measured once
    assert "measures/cadence" not in page  # the cadence goal has its own chart
    chart = browser.get(f"/clients/{client.id}/measures/stai6/chart.png")
    assert chart.status_code == 200 and chart.content[:8] == b"\x89PNG\r\n\x1a\n"
    series = dashboard.measure_series(db_session, actor=ann, client_id=client.id, instrument_code="stai6")
    assert series.dates == [dt.date(2026, 11, 15), dt.date(2026, 11, 22)] and len(series.values) == 2
