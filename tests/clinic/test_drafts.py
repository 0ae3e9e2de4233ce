"""Drafts of forms being typed (walk-through problem 1): one per therapist and form, capped, expiring."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from cadenza.clinic import auth, drafts
from cadenza.clinic.drafts import FormDraft
from cadenza.clinic.models import Base
from cadenza.errors import ParameterError

KEY = "/clients/7/sessions/new"
T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"  # make_therapist's (tests/conftest.py)


def test_migration_matches_the_model(db_engine):
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diffs if "form_draft" in repr(d)] == []


def test_a_draft_is_kept_replaced_and_discarded(db_session, make_therapist):
    ann = make_therapist("ann")
    drafts.save_draft(db_session, actor=ann, form_key=KEY, fields=[("plan", "first words"), ("minutes", "40")])
    drafts.save_draft(db_session, actor=ann, form_key=KEY, fields=[("plan", "first words, then more")])
    draft = drafts.get_draft(db_session, actor=ann, form_key=KEY)
    assert draft.values() == {"plan": "first words, then more"}
    assert db_session.scalar(select(func.count()).select_from(FormDraft)) == 1
    drafts.discard_draft(db_session, actor=ann, form_key=KEY)
    assert drafts.get_draft(db_session, actor=ann, form_key=KEY) is None


def test_drafts_are_per_therapist_and_leave_out_tokens_and_uploads(db_session, make_therapist):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    drafts.save_draft(db_session, actor=ann, form_key=KEY,
                      fields=[("csrf_token", "secret"), ("draft_key", KEY), ("form_id", "f1"), ("version", "3"),
                              ("subjective", "tired\x00 today"), ("upload", object())])
    assert drafts.get_draft(db_session, actor=ann, form_key=KEY).fields == [("subjective", "tired today")]
    assert drafts.get_draft(db_session, actor=bob, form_key=KEY) is None


def test_size_key_count_and_age_are_bounded(db_session, make_therapist):
    ann = make_therapist("ann")
    with pytest.raises(ParameterError, match="draft is"):
        drafts.save_draft(db_session, actor=ann, form_key=KEY, fields=[("plan", "x" * (drafts.MAX_DRAFT_CHARS + 1))])
    for bad in ("", "clients/7", "//evil.example/x", "/a/../b?x=1", "/" + "a" * 300):
        with pytest.raises(ParameterError, match="form_key"):
            drafts.save_draft(db_session, actor=ann, form_key=bad, fields=[])
    for n in range(drafts.MAX_DRAFTS_PER_THERAPIST + 2):
        drafts.save_draft(db_session, actor=ann, form_key=f"/clients/{n + 1}/sessions/new", fields=[("plan", str(n))],
                          now=T0 + dt.timedelta(minutes=n))
    kept = db_session.scalars(select(FormDraft.form_key).where(FormDraft.therapist_id == ann.id)).all()
    assert len(kept) == drafts.MAX_DRAFTS_PER_THERAPIST and "/clients/1/sessions/new" not in kept
    old = "/clients/22/sessions/new"
    assert drafts.get_draft(db_session, actor=ann, form_key=old, now=T0 + drafts.DRAFT_TTL) is not None
    assert drafts.get_draft(db_session, actor=ann, form_key=old, now=T0 + drafts.DRAFT_TTL + dt.timedelta(days=1)) is None


def test_a_lapsed_login_names_its_therapist_only_with_its_csrf_token(db_session, make_therapist):
    ann = make_therapist("ann")
    grant = auth.login(db_session, username="ann", password=PASSWORD, now=T0)
    lapsed = T0 + auth.IDLE_TIMEOUT + dt.timedelta(minutes=5)
    assert auth.resolve_session(db_session, grant.token, now=lapsed) is None
    assert auth.lapsed_session_owner(db_session, grant.token, grant.csrf_token, now=lapsed).id == ann.id
    assert auth.lapsed_session_owner(db_session, grant.token, "wrong", now=lapsed) is None
    assert auth.lapsed_session_owner(db_session, grant.token, None, now=lapsed) is None
    assert auth.lapsed_session_owner(db_session, "not-a-token", grant.csrf_token, now=lapsed) is None
    too_late = T0 + auth.LAPSED_LOGIN_DRAFT_GRACE + dt.timedelta(minutes=1)
    assert auth.lapsed_session_owner(db_session, grant.token, grant.csrf_token, now=too_late) is None
    auth.logout(db_session, grant.token)
    assert auth.lapsed_session_owner(db_session, grant.token, grant.csrf_token, now=lapsed) is None
