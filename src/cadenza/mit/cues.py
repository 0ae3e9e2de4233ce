"""Audio of each MIT step: the therapist's model (hummed, intoned, Sprechgesang, spoken or a probe
question), fading, delays and the person's turn, with the syllable taps on their own channel.

The cue is stereo ``(2, n)``: channel 0 is the voice, channel 1 the taps, so the taps can go to the
therapist's earpiece or be muted. Pure: the speech recordings come in already analysed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.mit.levels import DEFAULT_PROBE_QUESTION, Model, Step, check_level, get_step
from cadenza.mit.melody import MINOR_THIRD_SEMITONES, Melody, compose_melody
from cadenza.mit.syllables import Phrase
from cadenza.render.voice import SourceSpeech, render_hum, render_intoned, render_taps

REPEAT_PAUSE_S = 1.0
FADE_START_SHARE = 0.4  # the therapist's voice starts fading at 40 % of the phrase...
FADE_END_SHARE = 0.7  # ...and is silent from 70 %
PEAK_LEVEL = 0.7  # voice peak after normalisation (about -3 dBFS), leaving room for the taps


@dataclass(frozen=True)
class CueMaterial:
    """Everything a cue is made from: the phrase (and probe question) as words analysed for intoning,
    and as natural speech."""

    phrase: Phrase
    sources: tuple[SourceSpeech, ...]
    spoken: np.ndarray
    sampling_rate_hz: int
    voice: str = "male"
    low_midi: float | None = None
    interval_semitones: float = MINOR_THIRD_SEMITONES
    question: Phrase | None = None
    question_sources: tuple[SourceSpeech, ...] = ()
    question_spoken: np.ndarray | None = None


@dataclass(frozen=True)
class StepCue:
    """The audio of one protocol step: voice and taps as two channels, tap times, and the melody used."""

    step: Step
    level: int
    samples: np.ndarray  # (2, n): voice, taps
    sampling_rate_hz: int
    tap_times_s: np.ndarray
    melody: Melody | None

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sampling_rate_hz


def _melody(material: CueMaterial, phrase: Phrase, *, level: int, sprechgesang: bool = False) -> Melody:
    return compose_melody(phrase, level=level, voice=material.voice, low_midi=material.low_midi,
                          interval_semitones=material.interval_semitones, sprechgesang=sprechgesang)


def _normalise(y: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return y * (PEAK_LEVEL / peak) if peak > 0 else y


def render_model(material: CueMaterial, model: Model, *, level: int) -> tuple[np.ndarray, np.ndarray, Melody | None]:
    """One rendition of a model: ``(voice, tap_times_s, melody)``; spoken models have no melody."""
    sr = material.sampling_rate_hz
    if model is Model.QUESTION:
        question = material.question
        if question is None:
            raise ParameterError(f"a probe question is needed for this step (e.g. {DEFAULT_PROBE_QUESTION!r})")
        if level == 3:
            y = np.asarray(material.question_spoken if material.question_spoken is not None else [], dtype=float)
            return _normalise(y), np.empty(0), None
        melody = _melody(material, question, level=level)
        y = render_intoned(material.question_sources, sampling_rate_hz=sr, onset_times_s=melody.onset_times_s,
                           durations_s=melody.durations_s, pitches_hz=melody.pitches_hz)
        return _normalise(y.astype(float)), melody.onset_times_s, melody
    if model is Model.SPOKEN:
        return _normalise(np.asarray(material.spoken, dtype=float)), np.empty(0), None
    melody = _melody(material, material.phrase, level=level, sprechgesang=model is Model.SPRECHGESANG)
    if model is Model.HUM:
        y = render_hum(melody.onset_times_s, melody.durations_s, melody.pitches_hz, sampling_rate_hz=sr)
    else:
        y = render_intoned(material.sources, sampling_rate_hz=sr, onset_times_s=melody.onset_times_s,
                           durations_s=melody.durations_s, pitches_hz=melody.pitches_hz)
    return _normalise(y.astype(float)), melody.onset_times_s, melody


def render_model_with_taps(material: CueMaterial, *, level: int) -> tuple[np.ndarray, Melody]:
    """The whole phrase as the person hears it to repeat it: the intoned model (Sprechgesang at level III)
    with a tap on each syllable, as ``(2, n)`` voice and taps, and the melody it follows."""
    from cadenza.render.voice import render_taps

    y, taps_s, melody = render_model(material, Model.SPRECHGESANG if level == 3 else Model.INTONED, level=level)
    sr = material.sampling_rate_hz
    return np.stack([y, render_taps(taps_s, duration_s=y.size / sr, sampling_rate_hz=sr)[: y.size]]), melody


def _fade(n: int, melody: Melody | None, sr: int) -> np.ndarray:
    gain = np.ones(n)
    if melody is None or not melody.notes:
        start, end = int(FADE_START_SHARE * n), int(FADE_END_SHARE * n)
    else:
        span = melody.duration_s - melody.lead_in_s
        start = int((melody.lead_in_s + FADE_START_SHARE * span) * sr)
        end = int((melody.lead_in_s + FADE_END_SHARE * span) * sr)
    gain[start:end] = np.linspace(1.0, 0.0, max(0, min(end, n) - start))[: max(0, min(end, n) - start)]
    gain[end:] = 0.0
    return gain


def render_step_cue(material: CueMaterial, *, level: int, step_code: str) -> StepCue:
    """The audio of one step of one level: model (repeated, faded), delay, then the person's turn."""
    check_level(level)
    step = get_step(level, step_code)
    spec = step.cue
    sr = material.sampling_rate_hz
    voice, taps_s, melody = render_model(material, spec.model, level=level)
    if spec.fade_out:
        voice = voice * _fade(voice.size, melody, sr)
    parts, tap_times = [], []
    t0 = 0.0
    for r in range(spec.repeats):
        parts.append(voice)
        tap_times.append(taps_s + t0)
        t0 += voice.size / sr
        if r + 1 < spec.repeats:
            parts.append(np.zeros(int(REPEAT_PAUSE_S * sr)))
            t0 += REPEAT_PAUSE_S
    if spec.delay_s > 0:
        parts.append(np.zeros(int(round(spec.delay_s * sr))))
        t0 += spec.delay_s
    if spec.response_slot:
        # the person's turn: as long as the phrase at this level, with the taps going on (the
        # therapist keeps tapping the person's hand)
        turn = _melody(material, material.phrase, level=level, sprechgesang=level == 3)
        parts.append(np.zeros(int(np.ceil((turn.duration_s + REPEAT_PAUSE_S) * sr))))
        tap_times.append(turn.onset_times_s + t0)
    voice_track = np.concatenate(parts) if parts else np.zeros(0)
    tap_times_s = np.concatenate(tap_times) if (tap_times and spec.taps) else np.empty(0)
    taps = render_taps(tap_times_s, duration_s=voice_track.size / sr, sampling_rate_hz=sr)[: voice_track.size]
    stereo = np.zeros((2, voice_track.size), dtype=np.float32)
    stereo[0] = voice_track
    stereo[1, : taps.size] = taps
    return StepCue(step=step, level=level, samples=stereo, sampling_rate_hz=sr, tap_times_s=tap_times_s,
                   melody=melody)
