"""The MIT workflows both faces call: no cues for NICU infants, and an analysed attempt kept on a session
(never when no attempt was found) with the same audit rows whichever face called."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cadenza.cli.main import app as cli_app
from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent
from cadenza.errors import NotFoundError, ParameterError
from cadenza.mit.melody import compose_melody
from cadenza.mit.response import PitchContour, ResponseAnalysis, SyllableResult
from cadenza.mit.syllables import Lexicon, syllabify_phrase
from cadenza.safety.calibration import DEFAULT_CALIBRATION
from cadenza.safety.flags import audio_policy
from cadenza.tools.mit import actions
from cadenza.tools.mit import records as mr

LEXICON = Lexicon({"i": (("AY1",),), "need": (("N", "IY1", "D"),), "help": (("HH", "EH1", "L", "P"),)})


def _analysis(*, found: bool = True) -> ResponseAnalysis:
    melody = compose_melody(syllabify_phrase("I need help", lexicon=LEXICON))
    sylls = tuple(SyllableResult(i, n.syllable.text, n.onset_s, n.onset_s, 0.0, True, n.high, n.pitch_hz, 0.0, n.high,
                                 True) for i, n in enumerate(melody.notes))
    analysis = ResponseAnalysis(sylls, 0.0, 0.0, 0.15, 3, PitchContour(np.empty(0), np.empty(0), np.empty(0)))
    return analysis if found else dataclasses.replace(analysis, attempt_found=False, attempt_problem="no voice")


def _session(db_session, therapist, client_id: int):
    return service.record_session(db_session, actor=therapist, client_id=client_id, session_date=dt.date(2026, 11, 25),
                                  minutes=30, intervention_code="mit")


def _audit_rows_after(db_session, last: int) -> list[tuple]:
    rows = db_session.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id))
    return [(row.action, row.entity, row.client_id) for row in rows]


# --- no MIT cues for NICU infants -------------------------------------------------------------------


def test_the_rule_refuses_a_nicu_listener_and_no_one_else():
    actions.check_cue_listener(audio_policy(["seizures", "hearing_loss"]))
    with pytest.raises(ParameterError, match="NICU"):
        actions.check_cue_listener(audio_policy(["nicu_infant"]))


def test_render_cues_refuses_before_rendering_anything():
    melody = compose_melody(syllabify_phrase("I need help", lexicon=LEXICON))
    with pytest.raises(ParameterError, match="NICU"):
        actions.render_cues("I need help", melody, policy=audio_policy(["nicu_infant"]),
                            calibration=DEFAULT_CALIBRATION, level=1, hum=True)


def test_nicu_refusal_from_the_command(tmp_path):
    out = tmp_path / "cue.wav"
    refused = CliRunner().invoke(cli_app, ["mit", "phrase", "I need help", "--hum", str(out), "--flag", "nicu_infant"])
    assert refused.exit_code == 2 and "NICU" in refused.output and not out.exists()


def test_nicu_refusal_from_the_page(db_session, mit_web):
    browser, ann = mit_web
    infant = service.create_client(db_session, actor=ann, code="N1", safety_flags=["nicu_infant"])
    phrase = mr.add_phrase(db_session, actor=ann, client_id=infant.id, text="I need help")
    db_session.commit()
    refused = browser.get(f"/clients/{infant.id}/mit/phrases/{phrase.id}/cue.wav", params={"level": 1, "step": "humming"})
    assert refused.status_code == 422 and "NICU" in refused.text


def test_client_step_cue_refuses_a_nicu_client(db_session, therapist):
    infant = service.create_client(db_session, actor=therapist, code="N2", safety_flags=["nicu_infant"])
    phrase = mr.add_phrase(db_session, actor=therapist, client_id=infant.id, text="I need help")
    with pytest.raises(ParameterError, match="NICU"):
        actions.client_step_cue(db_session, actor=therapist, client=infant, phrase_id=phrase.id, level=1, step="humming")


def test_a_phrase_of_another_client_is_not_found_like_a_missing_one(db_session, therapist, client_record):
    other = service.create_client(db_session, actor=therapist, code="M.OTHER")
    phrase = mr.add_phrase(db_session, actor=therapist, client_id=other.id, text="I need help")
    for phrase_id in (phrase.id, phrase.id + 1000):
        with pytest.raises(NotFoundError, match="MIT phrase"):
            actions.client_step_cue(db_session, actor=therapist, client=client_record, phrase_id=phrase_id, level=1,
                                    step="humming")


# --- attempts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("face", ["page", "command"])
def test_a_stored_attempt_is_audited_the_same_from_both_faces(db_session, therapist, client_record, face):
    """The page names the phrase, the command only the session: the rows are the same."""
    row = _session(db_session, therapist, client_record.id)
    phrase = mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I need help")
    db_session.commit()
    last = db_session.scalar(select(func.max(AuditEvent.id))) or 0
    phrase_id = phrase.id if face == "page" else None
    report = actions.record_attempt(db_session, actor=therapist, analysis=_analysis(), level=1, session_id=row.id,
                                    phrase_id=phrase_id)
    db_session.commit()
    assert report.attempt_found and report.stored.timing_match_pct == 100.0
    assert _audit_rows_after(db_session, last) == [("read", "therapy_session", client_record.id),
                                                  ("create", "mit_attempt", client_record.id),
                                                  ("update", "therapy_session", client_record.id),
                                                  ("create", "measurement", client_record.id),
                                                  ("update", "therapy_session", client_record.id),
                                                  ("create", "measurement", client_record.id)]


@pytest.mark.parametrize("phrase", [True, False])
def test_no_attempt_found_is_never_stored(db_session, therapist, client_record, phrase):
    row = _session(db_session, therapist, client_record.id)
    phrase_id = mr.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I need help").id \
        if phrase else None
    db_session.commit()
    last = db_session.scalar(select(func.max(AuditEvent.id))) or 0
    report = actions.record_attempt(db_session, actor=therapist, analysis=_analysis(found=False), level=1,
                                    session_id=row.id, phrase_id=phrase_id)
    assert not report.attempt_found and report.stored is None
    assert _audit_rows_after(db_session, last) == []
    assert mr.list_attempts(db_session, actor=therapist, session_id=row.id) == []


def test_without_a_session_nothing_touches_the_record(db_session, therapist):
    last = db_session.scalar(select(func.max(AuditEvent.id))) or 0
    report = actions.record_attempt(db_session, actor=therapist, analysis=_analysis(), level=1)
    assert report.stored is None and _audit_rows_after(db_session, last) == []


def test_a_phrase_of_another_client_than_the_sessions_is_not_found(db_session, therapist, client_record):
    """Was a ParameterError (422) before the MIT move; now the same 404 as a missing phrase (child_of)."""
    row = _session(db_session, therapist, client_record.id)
    other = service.create_client(db_session, actor=therapist, code="M.OTHER2")
    foreign = mr.add_phrase(db_session, actor=therapist, client_id=other.id, text="I need help")
    with pytest.raises(NotFoundError, match="MIT phrase"):
        actions.record_attempt(db_session, actor=therapist, analysis=_analysis(), level=1, session_id=row.id,
                               phrase_id=foreign.id)


def test_target_melody_needs_words():
    with pytest.raises(ParameterError, match="no words"):
        actions.target_melody("  ...  ", level=1, lexicon=LEXICON)
    assert actions.target_melody("I need help", level=3, lexicon=LEXICON).sprechgesang
