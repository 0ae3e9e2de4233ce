"""Fixtures of the home tool's tests: a therapist with two clients (phones joined by invitation: tests/tools/conftest.py)."""

from __future__ import annotations

import pytest

from cadenza.clinic import service
from cadenza.tools.home import actions


@pytest.fixture
def home_world(db_session, make_therapist):
    """ann with two clients (one has a RAS-walk task); bob with one client."""
    import datetime as dt

    ann, bob = make_therapist("ann"), make_therapist("bob")
    mine = [service.create_client(db_session, actor=ann, code=f"home.{i}") for i in range(2)]
    other = service.create_client(db_session, actor=bob, code="bob.home")
    task = actions.assign_task(db_session, actor=ann, client=mine[0], kind="ras_walk", title="Walk to the beat",
                               days_per_week=5, minutes=10, ratings=["mood", "vas_anxiety"], tempo_bpm=100,
                               start_date=dt.date(2026, 11, 1))
    other_task = actions.assign_task(db_session, actor=ann, client=mine[1], kind="ras_walk", title="Other walk",
                                     days_per_week=3, minutes=10, ratings=[], tempo_bpm=90,
                                     start_date=dt.date(2026, 11, 1))
    db_session.commit()
    return {"ann": ann, "bob": bob, "clients": mine, "bob_client": other, "task": task, "other_task": other_task}
