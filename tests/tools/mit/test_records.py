"""The MIT phrase bank, level runs, step scores and attempts in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cadenza.tools.mit import records as mr
from cadenza.clinic import service
from cadenza.clinic.models import Base
from cadenza.errors import ConflictError, NotFoundError, ParameterError
from cadenza.mit.melody import compose_melody
from cadenza.mit.response import PitchContour, ResponseAnalysis, SyllableResult
from cadenza.mit.syllables import Lexicon, syllabify_phrase

MIT_TABLES = {"mit_phrase", "mit_level_run", "mit_step_score", "mit_attempt"}


def _session(db, therapist, client, day=25):
    return service.record_session(db, actor=therapist, client_id=client.id, session_date=dt.date(2026, 11, day),
                                  minutes=30, intervention_code="mit")


def test_migration_matches_the_models(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    mine = [d for d in diffs if any(t in repr(d) for t in MIT_TABLES)]
    assert mine == []


def test_phrase_bank_round_trip(db_session, therapist, client_record):
    mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="Thank you very much",
                  probe_question="What do you say?", note="to the nurses")
    mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="  I  need help ")
    mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="Take my Brexit", level=2)
    db_session.commit()
    db_session.expire_all()
    bank = mr.list_phrases(db_session, actor=therapist, client_id=client_record.id)
    assert [(p.text, p.syllable_count, p.stress_pattern, p.level) for p in bank] == [
        ("I need help", 3, "LHH", 1), ("Thank you very much", 5, "HLHLH", 1), ("Take my Brexit", 4, "HLHL", 2)]
    assert bank[1].probe_question == "What do you say?" and bank[1].note == "to the nurses"
    assert bank[2].guessed_words == ["brexit"]
    assert bank[0].created_at.tzinfo is not None
    with pytest.raises(ConflictError, match="already"):
        mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I need help")
    mr.update_phrase(db_session, actor=therapist, phrase_id=bank[0].id, active=False)
    assert len(mr.list_phrases(db_session, actor=therapist, client_id=client_record.id)) == 2
    assert len(mr.list_phrases(db_session, actor=therapist, client_id=client_record.id, active_only=False)) == 3


def test_phrase_bank_is_private_and_validated(db_session, therapist, client_record, make_therapist):
    other = make_therapist("other")
    row = mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="Good morning")
    with pytest.raises(NotFoundError):
        mr.get_phrase(db_session, actor=other, phrase_id=row.id)
    with pytest.raises(NotFoundError):
        mr.list_phrases(db_session, actor=other, client_id=client_record.id)
    with pytest.raises(ParameterError, match="level"):
        mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="Hello", level=4)
    with pytest.raises(ParameterError, match="text"):
        mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="   ")


def test_level_run_scores_and_measurement(db_session, therapist, client_record):
    sess = _session(db_session, therapist, client_record)
    p1 = mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I need help")
    p2 = mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="Good morning")
    run = mr.start_level_run(db_session, actor=therapist, session_id=sess.id, level=1)
    for phrase in (p1, p2):
        for code in ("unison", "unison_fading", "immediate_repetition", "probe"):
            mr.record_step(db_session, actor=therapist, run_id=run.id, phrase_id=phrase.id, step_code=code, attempt=0)
            mr.record_step(db_session, actor=therapist, run_id=run.id, phrase_id=phrase.id, step_code=code, attempt=1)
    row = mr.record_step(db_session, actor=therapist, run_id=run.id, phrase_id=p2.id, step_code="probe", override=0)
    assert row.attempts == [0, 1] and row.score == 0  # the therapist's override wins over the best attempt
    assert mr.run_score(db_session, actor=therapist, run_id=run.id).percent == pytest.approx(87.5)
    with pytest.raises(ParameterError, match="step"):
        mr.record_step(db_session, actor=therapist, run_id=run.id, phrase_id=p1.id, step_code="sprechgesang_fading",
                       attempt=1)
    with pytest.raises(ParameterError, match="override"):
        mr.record_step(db_session, actor=therapist, run_id=run.id, phrase_id=p1.id, step_code="unison", override=2)
    finished = mr.finish_level_run(db_session, actor=therapist, run_id=run.id)
    assert (finished.points, finished.possible, finished.score_pct) == (7, 8, 87.5)
    values = [m.value for m in service.list_measurements(db_session, actor=therapist, client_id=client_record.id,
                                                         instrument_code="mit_score_pct")]
    assert values == [87.5]
    with pytest.raises(ConflictError, match="finished"):
        mr.record_step(db_session, actor=therapist, run_id=run.id, phrase_id=p1.id, step_code="unison", attempt=1)


def test_advancement_over_consecutive_sessions(db_session, therapist, client_record):
    phrase = mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I need help")
    for day, probe in ((20, 0), (22, 1), (24, 1)):
        sess = _session(db_session, therapist, client_record, day)
        run = mr.start_level_run(db_session, actor=therapist, session_id=sess.id, level=1)
        for code in ("unison", "unison_fading", "immediate_repetition"):
            mr.record_step(db_session, actor=therapist, run_id=run.id, phrase_id=phrase.id, step_code=code, attempt=1)
        mr.record_step(db_session, actor=therapist, run_id=run.id, phrase_id=phrase.id, step_code="probe", attempt=probe)
        mr.finish_level_run(db_session, actor=therapist, run_id=run.id)
        if day == 22:
            assert not mr.level_advancement(db_session, actor=therapist, client_id=client_record.id, level=1).ready
    decision = mr.level_advancement(db_session, actor=therapist, client_id=client_record.id, level=1)
    assert decision.ready and "convention" in decision.caveat
    assert not mr.level_advancement(db_session, actor=therapist, client_id=client_record.id, level=1,
                                    consecutive_sessions=3).ready


def _analysis(timing_ok: list[bool], pitch_ok: list[bool]) -> ResponseAnalysis:
    lex = Lexicon({"i": (("AY1",),), "need": (("N", "IY1", "D"),), "help": (("HH", "EH1", "L", "P"),)})
    melody = compose_melody(syllabify_phrase("I need help", lexicon=lex))
    sylls = tuple(SyllableResult(i, n.syllable.text, n.onset_s, n.onset_s, 0.0 if t else 0.2, t, n.high, n.pitch_hz,
                                 0.0, n.high if p else not n.high, p)
                  for i, (n, t, p) in enumerate(zip(melody.notes, timing_ok, pitch_ok)))
    return ResponseAnalysis(sylls, 0.0, 0.0, 0.15, 3, PitchContour(np.empty(0), np.empty(0), np.empty(0)))


def test_attempt_stored_with_measurements(db_session, therapist, client_record):
    sess = _session(db_session, therapist, client_record)
    phrase = mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I need help")
    mr.store_attempt(db_session, actor=therapist, session_id=sess.id, phrase_id=phrase.id, level=1,
                     step_code="immediate_repetition", analysis=_analysis([True, False, True], [True, True, False]))
    db_session.commit()
    db_session.expire_all()
    (attempt,) = mr.list_attempts(db_session, actor=therapist, session_id=sess.id)
    assert attempt.timing_match_pct == pytest.approx(66.7) and attempt.pitch_pattern_followed is False
    assert attempt.analysis["syllables"][1]["timing_ok"] is False
    timing = service.list_measurements(db_session, actor=therapist, client_id=client_record.id,
                                       instrument_code="mit_timing_match_pct")
    pitch = service.list_measurements(db_session, actor=therapist, client_id=client_record.id,
                                      instrument_code="mit_pitch_pattern")
    assert [m.value for m in timing] == [pytest.approx(66.7)] and [m.value for m in pitch] == [0.0]
