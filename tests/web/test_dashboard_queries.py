"""The read queries behind the pages (cadenza.clinic.dashboard): goals due, recent sessions, progress."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadenza.clinic import dashboard, service
from cadenza.clinic.models import Goal
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError

TODAY = dt.date(2026, 11, 25)


def test_goals_due_lists_unmet_goals_soonest_first_and_only_mine(db_session, make_therapist):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    mine = service.create_client(db_session, actor=ann, code="A1")
    theirs = service.create_client(db_session, actor=bob, code="B1")

    def goal(owner, client, days, target=30):
        return service.create_goal(db_session, actor=owner, client_id=client.id, instrument_code="vas_anxiety",
                                   baseline=60, target=target, target_date=TODAY + dt.timedelta(days=days))

    soon, overdue, later, met = goal(ann, mine, 3), goal(ann, mine, -2), goal(ann, mine, 40), goal(ann, mine, 5, 50)
    goal(bob, theirs, 1)
    service.record_session(db_session, actor=ann, client_id=mine.id, session_date=TODAY, minutes=30,
                           intervention_code="receptive_listening",
                           measurements=[MeasurementInput("vas_anxiety", value=45, goal_id=met.id),
                                         MeasurementInput("vas_anxiety", value=50, goal_id=soon.id)])
    due = dashboard.goals_due(db_session, actor=ann, today=TODAY)
    assert [s.goal.id for s in due] == [overdue.id, soon.id]
    assert due[1].latest_value == 50 and due[1].progress_fraction == pytest.approx(1 / 3)
    assert later.id not in {s.goal.id for s in due}
    with pytest.raises(ParameterError, match="within_days"):
        dashboard.goals_due(db_session, actor=ann, within_days=-1)


def test_recent_sessions_are_mine_newest_first(db_session, make_therapist):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    a, b = service.create_client(db_session, actor=ann, code="A1"), service.create_client(db_session, actor=bob, code="B1")
    for day in (1, 3, 2):
        service.record_session(db_session, actor=ann, client_id=a.id, session_date=dt.date(2026, 11, day), minutes=30,
                               intervention_code="receptive_listening")
    service.record_session(db_session, actor=bob, client_id=b.id, session_date=dt.date(2026, 11, 9), minutes=30,
                           intervention_code="receptive_listening")
    recent = dashboard.recent_sessions(db_session, actor=ann, limit=2)
    assert [r.session.session_date.day for r in recent] == [3, 2] and {r.client_code for r in recent} == {"A1"}
    assert dashboard.recent_sessions(db_session, actor=make_therapist("eve")) == []
    with pytest.raises(ParameterError, match="limit"):
        dashboard.recent_sessions(db_session, actor=ann, limit=1000)


def test_goal_series_refuses_a_goal_of_another_client(db_session, make_therapist):
    ann = make_therapist("ann")
    c1, c2 = (service.create_client(db_session, actor=ann, code=c) for c in ("A1", "A2"))
    g = service.create_goal(db_session, actor=ann, client_id=c1.id, instrument_code="vas_anxiety", baseline=60, target=30)
    assert dashboard.goal_series(db_session, actor=ann, client_id=c1.id, goal_id=g.id).values == []
    with pytest.raises(NotFoundError):
        dashboard.goal_series(db_session, actor=ann, client_id=c2.id, goal_id=g.id)


@given(baseline=st.floats(0, 100), target=st.floats(0, 100), values=st.lists(st.floats(0, 100), max_size=5))
def test_goal_progress_properties(baseline, target, values):
    if baseline == target:
        return
    direction = "decrease" if target < baseline else "increase"
    goal = Goal(baseline=baseline, target=target, direction=direction)
    fraction, met = dashboard.goal_progress(goal, values)
    if not values:
        assert math.isnan(fraction) and not met
        return
    if abs(fraction - 1) > 1e-9:  # at the target itself, rounding in the fraction decides nothing
        assert met == (fraction > 1)
    assert dashboard.goal_progress(goal, [baseline])[0] == pytest.approx(0.0)
    assert dashboard.goal_progress(goal, [target]) == (pytest.approx(1.0), True)
