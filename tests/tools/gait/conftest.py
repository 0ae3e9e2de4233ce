"""Fixtures of the gait tool's tests: a browser (the synthetic walks are tests/tools/conftest.py's)."""

from __future__ import annotations

import pytest


@pytest.fixture
def gait_web(web_browser, make_therapist):
    """A TestClient on the test's rolled-back transaction, an account maker, a log-in and a CSRF-token getter."""
    return web_browser, make_therapist, type(web_browser).log_in, type(web_browser).csrf
