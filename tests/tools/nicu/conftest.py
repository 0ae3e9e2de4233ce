"""Fixtures of the NICU tool's tests: a logged-in browser, and the command line on a record with
clients of each audio policy (the fixtures are tests/tools/conftest.py's)."""

from __future__ import annotations

import pytest

CLIENT_FLAGS = {"N001": ["nicu_infant"], "N002": ["nicu_infant", "seizures"], "A001": []}


@pytest.fixture
def client_flags():
    return CLIENT_FLAGS
