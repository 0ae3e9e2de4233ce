"""Therapist accounts: who may act, and creating, finding and listing accounts.

The checks every service starts with live here (:func:`check_actor`, :func:`check_admin`), below the
login code and the clinical services that use them. Enabling and disabling an account is a credential
event (it ends the account's sessions and API tokens) and lives with them:
:func:`cadenza.clinic.auth.set_therapist_active`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic.audit import audit
from cadenza.clinic.models import ROLES, Therapist
from cadenza.clinic.passwords import hash_new_password
from cadenza.errors import ConflictError, NotFoundError, ParameterError, PermissionDeniedError

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")


def check_actor(actor: Therapist) -> None:
    """Refuse anything but an active :class:`Therapist` account (:class:`PermissionDeniedError`)."""
    if not isinstance(actor, Therapist):
        raise PermissionDeniedError(f"actor must be a Therapist account, got {actor!r}")
    if not actor.active:
        raise PermissionDeniedError(f"account {actor.username!r} is disabled")


def check_admin(actor: Therapist | None) -> None:
    """Refuse anyone but an active admin; ``None`` (the local command line) has system authority."""
    if actor is None:
        return
    check_actor(actor)
    if actor.role != "admin":
        raise PermissionDeniedError(f"only admins manage accounts; {actor.username!r} is a {actor.role}")


MAX_QUALIFICATION_CHARS = 64


def check_qualification(qualification: Any) -> str:
    """A credential such as ``"MT-BC"`` (free text, one line, at most 64 characters; empty for none)."""
    if not isinstance(qualification, str) or len(qualification) > MAX_QUALIFICATION_CHARS \
            or any(not ch.isprintable() for ch in qualification):
        raise ParameterError(
            f"qualification must be one line of at most {MAX_QUALIFICATION_CHARS} characters (e.g. 'MT-BC'), "
            f"got {qualification!r}")
    return qualification.strip()


def create_therapist(
    db: Session, *, actor: Therapist | None, username: str, password: str, role: str = "therapist",
    qualification: str = "", must_change_password: bool = False,
) -> Therapist:
    """Create an account. ``actor`` must be an admin, or None for the local command line.

    ``must_change_password``: the password is an initial one the admin chose, and the account's owner
    must replace it at the first login (:func:`cadenza.clinic.auth.reset_password` explains)."""
    check_admin(actor)
    qualification = check_qualification(qualification)
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        raise ParameterError(
            f"username must be 2-64 lower-case letters, digits, '.', '_' or '-', got {username!r}"
        )
    if role not in ROLES:
        raise ParameterError(f"role must be one of {ROLES}, got {role!r}")
    if db.scalar(select(Therapist.id).where(Therapist.username == username)) is not None:
        raise ConflictError(f"username {username!r} is already taken")
    therapist = Therapist(
        username=username,
        password_hash=hash_new_password(password, username=username),
        role=role,
        active=True,
        qualification=qualification,
        must_change_password=bool(must_change_password),
    )
    db.add(therapist)
    db.flush()
    audit(db, actor, "create", "therapist", entity_id=therapist.id)
    return therapist


def set_qualification(db: Session, *, actor: Therapist | None, username: str, qualification: str) -> Therapist:
    """Record an account's professional credential (e.g. ``"MT-BC"``): the account itself, an admin, or
    the local command line (``actor=None``) may set it. Audited as an update of the therapist."""
    qualification = check_qualification(qualification)
    therapist = get_therapist_by_username(db, username)
    if actor is not None:
        check_actor(actor)
        if actor.id != therapist.id:
            check_admin(actor)
    therapist.qualification = qualification
    db.flush()
    audit(db, actor, "update", "therapist", entity_id=therapist.id)
    return therapist


def get_therapist_by_username(db: Session, username: str) -> Therapist:
    therapist = db.scalar(select(Therapist).where(Therapist.username == username))
    if therapist is None:
        raise NotFoundError(f"therapist {username!r} not found")
    return therapist


def list_therapists(db: Session, *, actor: Therapist | None) -> list[Therapist]:
    check_admin(actor)
    return list(db.scalars(select(Therapist).order_by(Therapist.username)))
