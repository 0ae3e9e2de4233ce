"""MIT in the clinical record: a phrase bank per client, level runs with step scores, and attempt analyses.

Services follow ``docs/clinic_api.md``: session first, ``actor=`` keyword, flush but never commit, one
authorisation check (``get_client_for_actor`` / ``get_session``) that also audits. A caller that has
already authorised the client (a page) passes the loaded ``client`` to :func:`client_phrases`,
:func:`client_phrase` and :func:`client_advancement` instead, which check ownership by the row's
``client_id`` and audit nothing more: a phrase of another client and a missing one are the same
NotFoundError (:func:`cadenza.clinic.access.child_of`). Outcome numbers go
in as measurements on the therapy session, so progress charts and the FHIR export see them:
``mit_score_pct`` (points obtained / possible x 100 of a level run), ``mit_timing_match_pct`` and
``mit_pitch_pattern`` (1 if every syllable was on the intended pitch) of an analysed attempt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import corrections, service
from cadenza.clinic.access import child_of
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.models import INCLUDE_REMOVED, Base, Client, Removable, Therapist, TherapySession, utcnow
from cadenza.errors import ConflictError, NotFoundError, ParameterError
from cadenza.io.speech import load_lexicon
from cadenza.mit.levels import check_level, get_step, level_steps
from cadenza.mit.response import ResponseAnalysis
from cadenza.mit.scoring import (
    DEFAULT_CONSECUTIVE_SESSIONS,
    DEFAULT_CRITERION_PCT,
    Advancement,
    SessionScore,
    advancement,
    score_session,
    score_step,
)
from cadenza.mit.syllables import syllabify_phrase

MAX_PHRASE_CHARS = 200
MAX_PHRASE_SYLLABLES = 64  # the stored stress pattern has one letter per syllable (String(64))

MIT_SCORE_PCT = register_instrument(Instrument(
    code="mit_score_pct", name="MIT level score (points obtained / possible)", unit="%", minimum=0, maximum=100,
    better="increase", source="Helm-Estabrooks MIT kit scoring; cadenza.mit.scoring"))
MIT_TIMING_MATCH_PCT = register_instrument(Instrument(
    code="mit_timing_match_pct", name="MIT attempt: syllables on the target rhythm", unit="%", minimum=0,
    maximum=100, better="increase", source="cadenza.mit.response; local code"))
MIT_PITCH_PATTERN = register_instrument(Instrument(
    code="mit_pitch_pattern", name="MIT attempt: two-pitch pattern followed (1 yes, 0 no)", unit="1", minimum=0,
    maximum=1, better="increase", source="cadenza.mit.response; local code"))


class MitPhrase(Removable, Base):
    """A phrase in a client's MIT phrase bank, with its syllables and stress as planned."""

    __tablename__ = "mit_phrase"
    __table_args__ = (
        UniqueConstraint("client_id", "text"),
        CheckConstraint("level BETWEEN 1 AND 3", name="level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(MAX_PHRASE_CHARS))
    probe_question: Mapped[str] = mapped_column(String(MAX_PHRASE_CHARS), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[int] = mapped_column(Integer, default=1)
    syllable_count: Mapped[int] = mapped_column(Integer)
    stress_pattern: Mapped[str] = mapped_column(String(64))
    guessed_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Who removed it (clinic.corrections), without a foreign key: SQLite can drop a plain column again when
    # 0024_admin_corrections is downgraded, and record_change keeps the remover's name anyway.
    removed_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class MitLevelRun(Base):
    """One level worked through in a therapy session; the score is kept when the run is finished."""

    __tablename__ = "mit_level_run"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 3", name="level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    possible: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class MitStepScore(Base):
    """The attempts at one step for one phrase, the therapist's override and the resulting score."""

    __tablename__ = "mit_step_score"
    __table_args__ = (UniqueConstraint("run_id", "phrase_id", "step_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("mit_level_run.id", ondelete="CASCADE"), index=True)
    phrase_id: Mapped[int] = mapped_column(ForeignKey("mit_phrase.id", ondelete="CASCADE"), index=True)
    step_code: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[list[int]] = mapped_column(JSON, default=list)
    override: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MitAttempt(Base):
    """An analysed recording of the person's attempt (per-syllable details as JSON)."""

    __tablename__ = "mit_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id", ondelete="CASCADE"), index=True)
    phrase_id: Mapped[int | None] = mapped_column(ForeignKey("mit_phrase.id", ondelete="SET NULL"), nullable=True)
    level: Mapped[int] = mapped_column(Integer)
    step_code: Mapped[str] = mapped_column(String(40), default="")
    timing_match_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    pitch_pattern_followed: Mapped[bool] = mapped_column(Boolean)
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- phrase bank ---------------------------------------------------------------------------------


def add_phrase(db: Session, *, actor: Therapist, client_id: int, text: str, probe_question: str = "",
               note: str = "", level: int = 1) -> MitPhrase:
    """Add a phrase to the client's bank; its syllables and stress are worked out and stored."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    check_level(level)
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_PHRASE_CHARS:
        raise ParameterError(f"text must be a phrase of 1-{MAX_PHRASE_CHARS} characters, got {text!r}")
    if not isinstance(probe_question, str) or len(probe_question) > MAX_PHRASE_CHARS:
        raise ParameterError(f"probe_question must be at most {MAX_PHRASE_CHARS} characters, got {probe_question!r}")
    phrase = syllabify_phrase(text, lexicon=load_lexicon())
    if not phrase.syllables:
        raise ParameterError(f"text {text!r} has no words to intone")
    if phrase.n_syllables > MAX_PHRASE_SYLLABLES:
        raise ParameterError(f"text must be a phrase of at most {MAX_PHRASE_SYLLABLES} syllables (MIT phrases are "
                             f"short), got {phrase.n_syllables} syllables")
    text = " ".join(text.split())
    same = db.scalars(select(MitPhrase).where(MitPhrase.client_id == client.id, MitPhrase.text == text)
                      .execution_options(**{INCLUDE_REMOVED: True})).first()
    if same is not None and same.is_removed:
        raise ConflictError(f"the phrase {text!r} was removed from this client's phrase bank (phrase {same.id}); "
                            "restore it instead of adding it again")
    if same is not None:
        raise ConflictError(f"the phrase {text!r} is already in this client's phrase bank")
    row = MitPhrase(client_id=client.id, text=text, probe_question=probe_question.strip(), note=note, level=level,
                    syllable_count=phrase.n_syllables, stress_pattern=phrase.stress_pattern,
                    guessed_words=list(phrase.guessed_words), active=True)
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "mit_phrase", entity_id=row.id, client_id=client.id)
    return row


def list_phrases(db: Session, *, actor: Therapist, client_id: int, active_only: bool = True) -> list[MitPhrase]:
    """The client's phrase bank, shortest phrases first (phrases start short and grow)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return client_phrases(db, client=client, active_only=active_only)


def client_phrases(db: Session, *, client: Client, active_only: bool = True) -> list[MitPhrase]:
    """:func:`list_phrases` of a client the caller has already authorised."""
    query = select(MitPhrase).where(MitPhrase.client_id == client.id)
    if active_only:
        query = query.where(MitPhrase.active.is_(True))
    return list(db.scalars(query.order_by(MitPhrase.level, MitPhrase.syllable_count, MitPhrase.id)))


def get_phrase(db: Session, *, actor: Therapist, phrase_id: int, action: str = "read") -> MitPhrase:
    row = db.get(MitPhrase, phrase_id) if service.is_row_id(phrase_id) else None
    if row is None:
        raise NotFoundError(f"MIT phrase {phrase_id!r} not found")
    service.get_client_for_actor(db, actor=actor, client_id=row.client_id, action=action)  # raises if not the owner's
    return row


def client_phrase(db: Session, *, client: Client, phrase_id: int) -> MitPhrase:
    """The phrase ``phrase_id`` if it is in ``client``'s bank (``client`` already authorised by the caller);
    NotFoundError for a missing phrase and for another client's alike."""
    return child_of(db, client, MitPhrase, phrase_id, "MIT phrase")


def update_phrase(db: Session, *, actor: Therapist, phrase_id: int, level: int | None = None,
                  active: bool | None = None, probe_question: str | None = None, note: str | None = None) -> MitPhrase:
    if probe_question is not None and (not isinstance(probe_question, str) or len(probe_question) > MAX_PHRASE_CHARS):
        raise ParameterError(f"probe_question must be at most {MAX_PHRASE_CHARS} characters, got {probe_question!r}")
    row = get_phrase(db, actor=actor, phrase_id=phrase_id, action="update")
    if level is not None:
        row.level = check_level(level)
    if active is not None:
        row.active = bool(active)
    if probe_question is not None:
        row.probe_question = probe_question.strip()
    if note is not None:
        row.note = note
    db.flush()
    service.audit(db, actor, "update", "mit_phrase", entity_id=row.id, client_id=row.client_id)
    return row


# --- level runs and step scores ------------------------------------------------------------------


def remove_phrase(db: Session, *, actor: Therapist, phrase_id: int, reason: str,
                  client_id: int | None = None) -> MitPhrase:
    """Take a phrase added in error out of the bank (kept with the reason, restorable). Its scored
    attempts stay on their sessions; to pause a phrase that is still right, set it inactive instead."""
    return corrections.remove_row(db, actor=actor, model=MitPhrase, row_id=phrase_id, entity="mit_phrase",
                                  what="MIT phrase", reason=reason, client_id=client_id)


def restore_phrase(db: Session, *, actor: Therapist, phrase_id: int, reason: str = "",
                   client_id: int | None = None) -> MitPhrase:
    return corrections.restore_row(db, actor=actor, model=MitPhrase, row_id=phrase_id, entity="mit_phrase",
                                   what="MIT phrase", reason=reason, client_id=client_id)


def removed_phrases(db: Session, *, client: Client) -> list[MitPhrase]:
    """``client``'s removed phrases (authorised by the caller), newest removal first."""
    return corrections.removed_rows(db, client=client, model=MitPhrase)


def start_level_run(db: Session, *, actor: Therapist, session_id: int, level: int) -> MitLevelRun:
    """Start working through a level in a recorded therapy session."""
    session_row = service.get_session(db, actor=actor, session_id=session_id)
    check_level(level)
    row = MitLevelRun(session_id=session_row.id, client_id=session_row.client_id, level=level)
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "mit_level_run", entity_id=row.id, client_id=row.client_id)
    return row


def _run(db: Session, actor: Therapist, run_id: int) -> MitLevelRun:
    row = db.get(MitLevelRun, run_id) if isinstance(run_id, int) and not isinstance(run_id, bool) else None
    if row is None:
        raise NotFoundError(f"MIT level run {run_id!r} not found")
    service.get_client_for_actor(db, actor=actor, client_id=row.client_id)
    return row


def record_step(db: Session, *, actor: Therapist, run_id: int, phrase_id: int, step_code: str,
                attempt: int | None = None, override: int | None = None) -> MitStepScore:
    """Add an attempt's points (and/or the therapist's override) to a step; the score is the best
    attempt capped at the step maximum, or the override. A phrase outside the run's client's bank is a
    NotFoundError, as for a missing one."""
    run = _run(db, actor, run_id)
    phrase = client_phrase(db, client=db.get(Client, run.client_id), phrase_id=phrase_id)
    if run.finished_at is not None:
        raise ConflictError(f"level run {run_id!r} is finished; start a new run to score more")
    get_step(run.level, step_code)
    row = db.scalar(select(MitStepScore).where(MitStepScore.run_id == run.id, MitStepScore.phrase_id == phrase.id,
                                               MitStepScore.step_code == step_code))
    if row is None:
        row = MitStepScore(run_id=run.id, phrase_id=phrase.id, step_code=step_code, attempts=[])
        db.add(row)
    attempts = list(row.attempts or []) + ([attempt] if attempt is not None else [])
    new_override = override if override is not None else row.override
    score = score_step(run.level, step_code, attempts, override=new_override)  # validates the points
    row.attempts, row.override, row.score, row.updated_at = attempts, new_override, score, utcnow()
    db.flush()
    service.audit(db, actor, "update", "mit_step_score", entity_id=row.id, client_id=run.client_id)
    return row


def run_score(db: Session, *, actor: Therapist, run_id: int) -> SessionScore:
    """Points obtained / possible over every phrase scored in the run."""
    run = _run(db, actor, run_id)
    rows = db.scalars(select(MitStepScore).where(MitStepScore.run_id == run.id)).all()
    by_phrase: dict[int, dict[str, int | None]] = {}
    scored_codes = {s.code for s in level_steps(run.level) if s.scored}
    for r in rows:
        if r.step_code in scored_codes:
            by_phrase.setdefault(r.phrase_id, {})[r.step_code] = r.score
    return score_session(run.level, list(by_phrase.values()))


def finish_level_run(db: Session, *, actor: Therapist, run_id: int) -> MitLevelRun:
    """Close the run, keep its score and record it as the ``mit_score_pct`` measurement on the session."""
    run = _run(db, actor, run_id)
    if run.finished_at is not None:
        return run
    score = run_score(db, actor=actor, run_id=run_id)
    if score.possible == 0:
        raise ParameterError(f"level run {run_id!r} has no scored step yet; score at least one phrase first")
    run.points, run.possible, run.score_pct = score.points, score.possible, round(score.percent, 2)
    run.finished_at = utcnow()
    db.flush()
    service.add_measurement(db, actor=actor, session_id=run.session_id,
                            measurement=service.MeasurementInput("mit_score_pct", value=run.score_pct))
    return run


def level_advancement(db: Session, *, actor: Therapist, client_id: int, level: int,
                      criterion_pct: float = DEFAULT_CRITERION_PCT,
                      consecutive_sessions: int = DEFAULT_CONSECUTIVE_SESSIONS) -> Advancement:
    """Whether the client's finished runs at ``level`` (in session-date order) meet the advancement convention."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return client_advancement(db, client=client, level=level, criterion_pct=criterion_pct,
                              consecutive_sessions=consecutive_sessions)


def client_advancement(db: Session, *, client: Client, level: int, criterion_pct: float = DEFAULT_CRITERION_PCT,
                       consecutive_sessions: int = DEFAULT_CONSECUTIVE_SESSIONS) -> Advancement:
    """:func:`level_advancement` of a client the caller has already authorised."""
    rows = db.execute(
        select(MitLevelRun.score_pct)
        .join(TherapySession, TherapySession.id == MitLevelRun.session_id)
        .where(MitLevelRun.client_id == client.id, MitLevelRun.level == check_level(level),
               MitLevelRun.finished_at.is_not(None))
        .order_by(TherapySession.session_date, MitLevelRun.finished_at, MitLevelRun.id)
    ).scalars().all()
    return advancement([float(p) for p in rows], level=level, criterion_pct=criterion_pct,
                       consecutive_sessions=consecutive_sessions)


# --- analysed attempts ---------------------------------------------------------------------------


def store_attempt(db: Session, *, actor: Therapist, session_id: int, analysis: ResponseAnalysis, level: int,
                  phrase_id: int | None = None, step_code: str = "") -> MitAttempt:
    """Keep an analysed attempt and record its timing match and pitch pattern as measurements.

    A recording in which no attempt was found (``analysis.attempt_found`` false) is refused: it has
    no score to keep. ``phrase_id`` must be in the session's client's bank (NotFoundError otherwise)."""
    if not analysis.attempt_found:
        raise ParameterError(f"no attempt found in the recording ({analysis.attempt_problem}); nothing was stored")
    session_row = service.get_session(db, actor=actor, session_id=session_id)
    check_level(level)
    if phrase_id is not None:  # in the session's client's bank (NotFoundError otherwise, as for a missing one)
        client_phrase(db, client=db.get(Client, session_row.client_id), phrase_id=phrase_id)
    if step_code:
        get_step(level, step_code)
    timing = analysis.timing_match
    timing_pct = round(100 * timing, 1) if timing == timing else None
    row = MitAttempt(session_id=session_row.id, phrase_id=phrase_id, level=level, step_code=step_code,
                     timing_match_pct=timing_pct, pitch_pattern_followed=analysis.pitch_pattern_followed,
                     analysis=analysis.to_dict())
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "mit_attempt", entity_id=row.id, client_id=session_row.client_id)
    if timing_pct is not None:
        service.add_measurement(db, actor=actor, session_id=session_row.id,
                                measurement=service.MeasurementInput("mit_timing_match_pct", value=timing_pct))
    service.add_measurement(db, actor=actor, session_id=session_row.id, measurement=service.MeasurementInput(
        "mit_pitch_pattern", value=1.0 if analysis.pitch_pattern_followed else 0.0))
    return row


def list_attempts(db: Session, *, actor: Therapist, session_id: int) -> list[MitAttempt]:
    session_row = service.get_session(db, actor=actor, session_id=session_id)
    return list(db.scalars(select(MitAttempt).where(MitAttempt.session_id == session_row.id).order_by(MitAttempt.id)))
