"""Fixtures the tools' tests share: a therapist logged in in the browser (``nurse``), and the command line
on a record whose clients have the audio policies a folder names in its ``client_flags`` fixture."""

from __future__ import annotations

import functools

import pytest

PASSWORD = "a perfectly long passphrase"


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
def clinic(run, client_flags):
    """``run`` on a record where ``ana`` has the clients of ``client_flags`` (code -> safety flags)."""
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    for code, flags in client_flags.items():
        result = run("client", "add", code, *[x for f in flags for x in ("--flag", f)])
        assert result.exit_code == 0, result.output
    return run
