"""The MIT workflows both faces call: a step cue for a listener, and an analysed attempt kept on a session.

``cadenza mit ...`` and the pages under ``/clients/{client_id}/mit`` only parse their input and present the
result; the rules come from here, so they are the same from both:

- **No MIT cues for NICU infants.** :func:`check_cue_listener` is the one place the rule is written;
  every cue rendered here (:func:`render_cues` for the command, :func:`client_step_cue` for the page)
  goes through it before anything is rendered, and is capped to the listener's audio policy after.
- **No attempt found is never scored or stored.** :func:`record_attempt` keeps an analysed attempt on a
  session only when ``analysis.attempt_found``; otherwise it returns the analysis with nothing stored,
  and :func:`cadenza.tools.mit.records.store_attempt` refuses it anyway. The audit rows of a stored
  attempt are the same whichever face called.

The page analyses an upload in a limited child process
(:func:`cadenza.io.isolated_analysis.analyse_attempt_bytes_isolated`), the command in-process with
:func:`analyse_attempt`; both build the target with :func:`target_melody`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cadenza.clinic import listening
from cadenza.clinic.models import Client, Therapist
from cadenza.errors import ParameterError
from cadenza.tools.mit import records

if TYPE_CHECKING:  # the science modules pull in numpy/scipy: imported inside the functions
    import numpy as np

    from cadenza.mit.melody import Melody
    from cadenza.mit.response import ResponseAnalysis
    from cadenza.safety.calibration import Calibration
    from cadenza.safety.flags import AudioPolicy

NICU_REFUSAL = "MIT cues are not for NICU infants (the listener has the nicu_infant flag)"


# --- cues ----------------------------------------------------------------------------------------


def check_cue_listener(policy: AudioPolicy) -> None:
    """The rule: no MIT cue is rendered for a NICU infant (ParameterError); anyone else may hear one."""
    if policy.nicu_limits:
        raise ParameterError(NICU_REFUSAL)


def _capped(samples: np.ndarray, *, sampling_rate_hz: int, policy: AudioPolicy,
            calibration: Calibration) -> np.ndarray:
    from cadenza.safety.enforce import apply_audio_policy

    return apply_audio_policy(samples, sampling_rate_hz=sampling_rate_hz, policy=policy,
                              calibration=calibration).samples


@dataclass(frozen=True)
class RenderedCue:
    """A cue ready to play: ``samples`` (channels x time; voice left, taps right) at ``sampling_rate_hz``,
    already capped to the listener's audio policy."""

    samples: Any
    sampling_rate_hz: int


def render_cues(
    text: str,
    melody: Melody,
    *,
    policy: AudioPolicy,
    calibration: Calibration,
    level: int,
    model: bool = False,
    step: str | None = None,
    hum: bool = False,
    voice: str = "male",
    low_midi: float | None = None,
    interval_semitones: float = 3.0,
    question: str = "What did you say?",
    lexicon: Any = None,
    recording: tuple[Any, int] | None = None,
) -> dict[str, RenderedCue]:
    """The audio of a phrase for one listener: ``"audio"`` (the step cue with ``step``, else the whole
    intoned model when ``model``) and ``"hum"`` (the hummed melody with taps), each capped to ``policy``.

    Refused for a NICU infant before anything is rendered (:func:`check_cue_listener`). A ``step`` without
    ``model`` is validated (rendered) but returned as nothing. ``recording`` is the therapist's own
    ``(samples, sampling_rate_hz)`` of the phrase, intoned instead of the synthetic voice.
    """
    import numpy as np

    from cadenza.io.speech import SPEECH_RATE_HZ, prepare_cue_material
    from cadenza.mit.cues import render_model_with_taps, render_step_cue
    from cadenza.render.voice import render_hum, render_taps

    check_cue_listener(policy)
    out: dict[str, RenderedCue] = {}
    sr = SPEECH_RATE_HZ
    if model or step:  # the hum alone needs no speech
        material = prepare_cue_material(text, voice=voice, question=question, low_midi=low_midi,
                                        interval_semitones=interval_semitones, lexicon=lexicon, recording=recording)
        sr = material.sampling_rate_hz
        if step:
            stereo = render_step_cue(material, level=level, step_code=step).samples
        else:
            stereo, _ = render_model_with_taps(material, level=level)
        if model:
            out["audio"] = RenderedCue(_capped(stereo, sampling_rate_hz=sr, policy=policy, calibration=calibration), sr)
    if hum:
        y = render_hum(melody.onset_times_s, melody.durations_s, melody.pitches_hz, sampling_rate_hz=sr)
        taps = render_taps(melody.onset_times_s, duration_s=y.size / sr, sampling_rate_hz=sr)[: y.size]
        stereo = np.stack([0.7 * y / max(1e-9, np.abs(y).max()), taps])
        out["hum"] = RenderedCue(_capped(stereo, sampling_rate_hz=sr, policy=policy, calibration=calibration), sr)
    return out


def client_step_cue(db: Session, *, actor: Therapist, client: Client, phrase_id: int, level: int,
                    step: str) -> RenderedCue:
    """One protocol step's cue of a phrase in ``client``'s bank (``client`` already authorised for
    ``actor``), capped to the client's audio policy and latest calibration (the client as a listener,
    :func:`cadenza.clinic.listening.listener_of`).

    Refused for a NICU infant (ParameterError) before the phrase is rendered; a phrase that is not in
    this client's bank is a NotFoundError, whether it belongs to another client or to no one.
    """
    from cadenza.io.speech import prepare_cue_material
    from cadenza.mit.cues import render_step_cue
    from cadenza.mit.levels import DEFAULT_PROBE_QUESTION, get_step

    phrase = records.client_phrase(db, client=client, phrase_id=phrase_id)
    get_step(level, step)
    listener = listening.listener_of(db, client=client)
    check_cue_listener(listener.policy)
    material = prepare_cue_material(phrase.text, question=phrase.probe_question or DEFAULT_PROBE_QUESTION)
    cue = render_step_cue(material, level=level, step_code=step)
    return RenderedCue(_capped(cue.samples, sampling_rate_hz=cue.sampling_rate_hz, policy=listener.policy,
                               calibration=listener.calibration), cue.sampling_rate_hz)


# --- attempts ------------------------------------------------------------------------------------


def target_melody(text: str, *, level: int, voice: str = "male", low_midi: float | None = None,
                  interval_semitones: float = 3.0, lead_in_s: float | None = None, lexicon: Any = None) -> Melody:
    """The two-pitch melody an attempt at ``text`` is measured against (Sprechgesang at level III).

    ParameterError when the text has no words to intone.
    """
    from cadenza.io.speech import load_lexicon
    from cadenza.mit.melody import compose_melody
    from cadenza.mit.syllables import syllabify_phrase

    phrase = syllabify_phrase(text, lexicon=lexicon if lexicon is not None else load_lexicon())
    if not phrase.syllables:
        raise ParameterError(f"the phrase {text!r} has no words to intone")
    options = {} if lead_in_s is None else {"lead_in_s": lead_in_s}
    return compose_melody(phrase, level=level, voice=voice, low_midi=low_midi, interval_semitones=interval_semitones,
                          sprechgesang=level == 3, **options)


def analyse_attempt(samples: np.ndarray, *, sampling_rate_hz: int, melody: Melody,
                    timing_tolerance_s: float = 0.15) -> ResponseAnalysis:
    """Syllable onsets against the target rhythm and the two-pitch pattern, in this process (the page
    runs the same analysis in a limited child: ``io.isolated_analysis.analyse_attempt_bytes_isolated``)."""
    from cadenza.mit.response import analyse_response

    return analyse_response(samples, sampling_rate_hz=sampling_rate_hz, melody=melody,
                            timing_tolerance_s=timing_tolerance_s)


@dataclass(frozen=True)
class AttemptReport:
    """An analysed attempt and, when it was kept on a session, its stored row."""

    analysis: ResponseAnalysis
    stored: records.MitAttempt | None = None

    @property
    def attempt_found(self) -> bool:
        return bool(self.analysis.attempt_found)


def record_attempt(db: Session, *, actor: Therapist, analysis: ResponseAnalysis, level: int,
                   session_id: int | None = None, phrase_id: int | None = None) -> AttemptReport:
    """Keep an analysed attempt on the session (with its timing match and pitch pattern as measurements).

    Without a session nothing touches the record. A recording in which no attempt was found is never
    stored (nor scored): the report comes back with ``stored`` None and ``attempt_found`` false, for the
    face to say so. With ``phrase_id`` the phrase must be in the session's client's bank (NotFoundError
    otherwise). Flushes, never commits.
    """
    if session_id is None or not analysis.attempt_found:
        return AttemptReport(analysis)
    stored = records.store_attempt(db, actor=actor, session_id=session_id, analysis=analysis, level=level,
                                   phrase_id=phrase_id)
    return AttemptReport(analysis, stored)
