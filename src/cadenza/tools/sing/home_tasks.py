"""Singing as a home-programme task: the singing tool's side of :class:`cadenza.plugins.TaskKind`.

The home programme stores the task and its completions and never imports this module; it reaches it
through the manifest. The therapist prescribes a short phrase of notes (:func:`prepare_singing`); on the
person's phone the page plays the notes on the Web Audio clock within the listener's gain cap, records the
person singing them back from the microphone and sends the samples as raw 16-bit PCM (no decoder runs on
them); :func:`measure_singing` scores them with the same code as ``cadenza sing analyze``
(:func:`cadenza.singing.analyze_singing`): cents off per note, the share within +-50 cents, range and the
longest held note. An octave lower or higher counts as the same note (a man singing a woman's phrase).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from cadenza.errors import ParameterError
from cadenza.io.base64_field import decode_base64_field
from cadenza.tools.sing import records

MAX_NOTES = 12
MAX_NOTES_CHARS = 200
MIDI_RANGE = (36.0, 84.0)  # C2-C6: what a person can be asked to sing at home
NOTE_S_RANGE = (0.5, 4.0)
DEFAULT_NOTE_S = 1.0
MODEL_RATE_HZ = 22_050
RECORD_EXTRA_S = 2.0  # the person's try may start late and run long
RATES_HZ = (8000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
MAX_RECORDING_S = MAX_NOTES * NOTE_S_RANGE[1] + RECORD_EXTRA_S + 1


def render_model(target_midi: list[float], *, note_s: float, sampling_rate_hz: int = MODEL_RATE_HZ) -> np.ndarray:
    """The phrase as the page plays it: one soft triangle-like tone per note with 20 ms fades (full scale)."""
    from cadenza.singing.pitch import midi_to_hz

    n = int(round(note_s * sampling_rate_hz))
    t = np.arange(n) / sampling_rate_hz
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    tones = []
    for midi in target_midi:
        f = float(midi_to_hz(midi))
        tone = sum(np.sin(2 * np.pi * k * f * t) / k ** 2 * (-1) ** ((k - 1) // 2) for k in (1, 3, 5))
        tones.append(0.8 * tone * fade)
    return np.concatenate(tones) if tones else np.zeros(0)


def prepare_singing(db: Session, client: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The task's ``music`` from the therapist's form: ``notes`` ("C4 E4 G4" or MIDI numbers, 1-12 notes
    from C2 to C6) and ``note_s`` (0.5-4 s per note), with the gain cap that keeps the played phrase within
    the listener's level (``client`` is already authorised)."""
    from cadenza.clinic import listening
    from cadenza.render.levels import gain_db_to_reach, measure_levels
    from cadenza.tools.sing.actions import parse_targets

    text = str(values.get("notes") or "")
    if len(text) > MAX_NOTES_CHARS:
        raise ParameterError(f"notes must be at most {MAX_NOTES} notes, got {len(text)} characters")
    target = parse_targets(text)
    if not target:
        raise ParameterError("notes must name the notes to sing, e.g. \"C4 E4 G4\" (C4 = middle C), got none")
    if len(target) > MAX_NOTES:
        raise ParameterError(f"notes must be at most {MAX_NOTES} notes, got {len(target)}")
    low, high = MIDI_RANGE
    if not all(low <= m <= high for m in target):
        raise ParameterError(f"notes must lie from C2 to C6 (MIDI {low:g}-{high:g}), got {values.get('notes')!r}")
    raw = values.get("note_s") or DEFAULT_NOTE_S
    try:
        note_s = float(raw)
    except (TypeError, ValueError):
        raise ParameterError(f"note_s must be a number of seconds, got {str(raw)[:40]!r}") from None
    if not (math.isfinite(note_s) and NOTE_S_RANGE[0] <= note_s <= NOTE_S_RANGE[1]):
        raise ParameterError(f"note_s must be {NOTE_S_RANGE[0]:g} to {NOTE_S_RANGE[1]:g} seconds per note "
                             f"(not milliseconds), got {raw!r}")
    listener = listening.listener_of(db, client=client)
    report = measure_levels(render_model(target, note_s=note_s), sampling_rate_hz=MODEL_RATE_HZ,
                            level_offset_db=listener.calibration.level_offset_db)
    gain = 10 ** (min(gain_db_to_reach(report, leq_dba=listener.policy.max_level_dba), 0.0) / 20)
    return {"target_midi": target, "note_s": note_s, "sing_s": round(len(target) * note_s + RECORD_EXTRA_S, 2),
            "gain_cap": round(float(gain), 6), "level_dba": round(float(report.leq_dba) + 20 * math.log10(gain), 1)}


def _samples(result: Any) -> tuple[np.ndarray, int]:
    if not isinstance(result, dict):
        raise ParameterError(f"result must be a JSON object with pcm_b64 and sampling_rate_hz, got {type(result).__name__}")
    rate = result.get("sampling_rate_hz")
    if isinstance(rate, bool) or rate not in RATES_HZ:
        raise ParameterError(f"sampling_rate_hz must be one of {RATES_HZ}, got {str(rate)[:20]!r}")
    limit = int(MAX_RECORDING_S * rate) * 2
    data = decode_base64_field(result.get("pcm_b64"), field="pcm_b64", max_bytes=limit,
                               holds=f"16-bit PCM ({MAX_RECORDING_S:.0f} s)")
    if len(data) % 2:
        raise ParameterError("pcm_b64 must hold 16-bit PCM: an even number of bytes")
    return np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0, int(rate)


def measure_singing(db: Session, client: Any, music: dict[str, Any], result: Any, *,
                    device_label: str = "") -> dict[str, Any]:
    """The figures of one try: ``result`` = ``{"pcm_b64", "sampling_rate_hz"}`` (mono 16-bit PCM).
    Returns ``{"scores", "measurements", "summary"}``; a try with no singing in it gives no measurements."""
    from cadenza.singing.analysis import analyze_singing

    samples, rate = _samples(result)
    target = [float(m) for m in music["target_midi"]]
    scores: dict[str, Any] = {"n_targets": len(target), "duration_s": round(samples.size / rate, 2)}
    if samples.size < rate // 4:
        scores["voiced_s"] = 0.0
        return {"scores": scores, "measurements": [], "summary": singing_summary(scores)}
    report = analyze_singing(samples, sampling_rate_hz=rate, target_midi=target, octave_equivalent=True)
    scores["voiced_s"] = round(float(report.voice.voiced_s), 2)
    measurements: list[tuple[str, float]] = []
    if report.voice.voiced_s > 0:
        measurements = records.singing_measurements(report)
        score = report.score
        scores.update({"n_in_tune": int(np.sum(np.abs(np.nan_to_num(score.cents_error, nan=np.inf)) <= 50)),
                       "cents_error": [round(float(c), 1) if np.isfinite(c) else None for c in score.cents_error]})
        scores.update({code.removeprefix("sing_"): value for code, value in measurements})
    return {"scores": scores, "measurements": measurements, "summary": singing_summary(scores)}


def singing_summary(scores: dict[str, Any]) -> str:
    """The figures in plain words for the person (reading grade 8 or lower, measured in the tests)."""
    if not scores.get("voiced_s"):
        return "We could not hear you sing. Hold the phone near you and try again."
    words = [f"You sang {scores['n_in_tune']} of {scores['n_targets']} notes close to the right pitch."]
    if "max_phonation_s" in scores:
        words.append(f"Your longest note lasted {scores['max_phonation_s']:.1f} seconds.")
    words.append("Well done for singing today.")
    return " ".join(words)
