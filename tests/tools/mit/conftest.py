"""Fixtures of the MIT tool's tests: a browser logged in as a therapist."""

from __future__ import annotations

import pytest


@pytest.fixture
def mit_web(db_session, web_browser, make_therapist):
    """A TestClient on the test's rolled-back transaction, logged in as ``ann`` (returned with it)."""
    ann = make_therapist("ann")
    db_session.commit()
    assert web_browser.log_in("ann").status_code == 303
    return web_browser, ann
