"""Fixtures of the hearing-safety tool's tests: a logged-in browser, and the command line on a record with
clients of each audio policy (the fixtures are tests/tools/conftest.py's)."""

from __future__ import annotations

import pytest

CLIENT_FLAGS = {"A001": [], "H001": ["hearing_loss"], "N001": ["nicu_infant"], "T001": ["trauma_history"]}


@pytest.fixture
def client_flags():
    return CLIENT_FLAGS
