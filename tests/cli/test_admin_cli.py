"""`cadenza admin disable` ends the account's browser sessions and API tokens, for good."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cadenza.cli.main import app
from cadenza.clinic import auth
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.settings import Settings

PASSWORD = "a perfectly long passphrase"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(app, list(args), input=input)


@pytest.fixture
def open_session(run):
    engines = []

    def _open():
        engine = make_engine(Settings.from_env().database_url)
        engines.append(engine)
        return session_scope(make_session_factory(engine))

    yield _open
    for engine in engines:
        engine.dispose()


def _sign_in(open_session) -> tuple[str, str]:
    with open_session() as db:
        grant = auth.login(db, username="bo", password=PASSWORD)
        therapist_id = grant.therapist.id
        api_token, _ = auth.create_api_token(db, therapist_id=therapist_id, label="script")
        return grant.token, api_token


def test_disable_revokes_sessions_and_tokens_and_enable_does_not_revive_them(run, open_session):
    for name in ("ana", "bo"):
        assert run("admin", "create", name, "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    cookie, api_token = _sign_in(open_session)
    with open_session() as db:
        assert auth.resolve_session(db, cookie) is not None
        assert auth.resolve_api_token(db, api_token) is not None

    disabled = run("admin", "disable", "bo")
    assert disabled.exit_code == 0, disabled.output
    assert "revoked" in disabled.output
    with open_session() as db:
        assert all(t.revoked_at is not None for t in db.scalars(select(auth.ApiToken)))
        assert all(s.revoked_at is not None for s in db.scalars(select(auth.LoginSession)))

    assert run("admin", "enable", "bo").exit_code == 0
    with open_session() as db:  # the account is back, its old credentials are not
        assert auth.resolve_session(db, cookie) is None
        assert auth.resolve_api_token(db, api_token) is None
    fresh_cookie, fresh_token = _sign_in(open_session)
    with open_session() as db:
        assert auth.resolve_session(db, fresh_cookie) is not None
        assert auth.resolve_api_token(db, fresh_token) is not None


def test_disable_leaves_other_accounts_alone_and_names_unknown_ones(run, open_session):
    for name in ("ana", "bo"):
        assert run("admin", "create", name, "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    with open_session() as db:
        ana = auth.login(db, username="ana", password=PASSWORD).token
    _sign_in(open_session)
    assert run("admin", "disable", "bo").exit_code == 0
    with open_session() as db:
        assert auth.resolve_session(db, ana) is not None
    missing = run("admin", "disable", "nobody")
    assert missing.exit_code != 0 and "nobody" in missing.output


def test_m3_qualification_is_recorded_at_creation_and_changed_later(run, open_session):
    from cadenza.clinic.models import Therapist

    made = run("admin", "create", "ana", "--qualification", "MT-BC", "--password-stdin", input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    assert run("admin", "create", "bo", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    changed = run("admin", "qualification", "bo", "NMT Fellow")
    assert changed.exit_code == 0 and "NMT Fellow" in changed.output
    with open_session() as db:
        found = {t.username: t.qualification for t in db.scalars(select(Therapist))}
    assert found == {"ana": "MT-BC", "bo": "NMT Fellow"}
    assert run("admin", "qualification", "nobody", "MT-BC").exit_code == 1
