"""Fixtures the tools' tests share: a therapist logged in in the browser (``nurse``), the command line
on a record whose clients have the audio policies a folder names in its ``client_flags`` fixture and a
phone joined to a client's programme (``phone``). The synthetic walks are tests/conftest.py's."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator

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


class _AuditTrail:
    """Audit rows a step wrote, for checking that the command and the page leave the same trail."""

    @staticmethod
    def last_id(db) -> int:
        from sqlalchemy import func, select

        from cadenza.clinic.models import AuditEvent

        return db.scalar(select(func.max(AuditEvent.id))) or 0

    @staticmethod
    def rows_after(db, last: int) -> list[tuple[str, str]]:
        from sqlalchemy import select

        from cadenza.clinic.models import AuditEvent

        rows = db.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id))
        return [(row.action, row.entity) for row in rows]

    @staticmethod
    def in_command_record(read):
        """``read(db)`` on the record the ``cli`` fixture's commands wrote to."""
        from cadenza.clinic.db import make_engine, make_session_factory, session_scope
        from cadenza.settings import Settings

        engine = make_engine(Settings.from_env().database_url)
        try:
            with session_scope(make_session_factory(engine)) as db:
                return read(db)
        finally:
            engine.dispose()


@pytest.fixture
def audit_trail() -> _AuditTrail:
    return _AuditTrail()


@pytest.fixture
def phone(web_app, db_session) -> Iterator[Callable]:
    """``phone(actor, client, pin="2580")`` -> a TestClient that joined ``client``'s programme by invitation."""
    from fastapi.testclient import TestClient

    opened = []

    def _join(actor, client, pin: str = "2580") -> TestClient:
        from cadenza.tools.home import actions

        invitation = actions.invite(db_session, actor=actor, client=client)
        db_session.commit()
        browser = TestClient(web_app, follow_redirects=False)
        browser.__enter__()
        opened.append(browser)
        page = browser.get(invitation.path)
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
        joined = browser.post(invitation.path, data={"csrf_token": csrf, "pin": pin, "pin_again": pin})
        assert joined.status_code == 303, joined.text
        browser.device_csrf = re.search(r'data-csrf="([^"]+)"', browser.get("/me").text)[1]
        return browser

    yield _join
    for browser in opened:
        browser.__exit__(None, None, None)


@pytest.fixture
def add_song(tmp_path) -> Callable:
    """``add_song(db, client_id, beats=None, tempo_bpm=100.0, seconds=12.0, **columns)`` -> a library track id: a
    synthetic song (a tone with a short knock on each beat, 22.05 kHz mono WAV in ``tmp_path``) stored with its
    beats, as a scan of the library would store it (``beats=[]``: a song whose beat tracking found nothing)."""
    import numpy as np
    import soundfile

    def _add(db, client_id: int, *, beats=None, tempo_bpm: float = 100.0, seconds: float = 12.0, **columns) -> int:
        from cadenza.tools.library.records import LibraryTrack

        rate = 22_050
        t = np.arange(int(seconds * rate)) / rate
        grid = np.arange(0.25, seconds - 0.2, 60.0 / tempo_bpm)
        song = 0.05 * np.sin(2 * np.pi * 220 * t)
        knock = 0.6 * np.exp(-np.arange(600) / 120) * np.sin(2 * np.pi * 900 * np.arange(600) / rate)
        for b in grid:
            i = int(b * rate)
            song[i:i + knock.size] += knock[:song.size - i]
        path = tmp_path / f"song_{client_id}_{len(list(tmp_path.glob('song_*')))}.wav"
        soundfile.write(path, song.astype(np.float32), rate)
        row = LibraryTrack(client_id=client_id, path=str(path), size_bytes=path.stat().st_size, mtime_ns=0,
                           content_sha256=f"{len(str(path)):064d}", title=columns.pop("title", "Walking song"),
                           duration_s=seconds, tempo_bpm=tempo_bpm,
                           beat_times_s=[round(float(b), 4) for b in grid] if beats is None else beats, **columns)
        db.add(row)
        db.commit()
        return row.id

    return _add
