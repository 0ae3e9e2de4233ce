"""Fixtures of the NICU tool's tests: a logged-in browser, and the command line on a record with
clients of each audio policy."""

from __future__ import annotations

import functools

import pytest

PASSWORD = "a perfectly long passphrase"
CLIENT_FLAGS = {"N001": ["nicu_infant"], "N002": ["nicu_infant", "seizures"], "A001": []}


@pytest.fixture
def nurse(make_therapist):
    return make_therapist("nurse")


@pytest.fixture
def logged_in(web_browser, nurse):
    """The browser, logged in as ``nurse``."""
    response = web_browser.log_in("nurse")
    assert response.status_code in (302, 303)
    return web_browser


@pytest.fixture
def run(cli):
    """``cadenza ...`` acting as ``ana`` (CADENZA_USER)."""
    return functools.partial(cli, user="ana")


@pytest.fixture
def clinic(run):
    """``run`` on a record where ``ana`` has the clients of :data:`CLIENT_FLAGS`."""
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    for code, flags in CLIENT_FLAGS.items():
        result = run("client", "add", code, *[x for f in flags for x in ("--flag", f)])
        assert result.exit_code == 0, result.output
    return run
