"""Notes of an acoustic instrument or a voice, from a recording, for improvisation analysis.

One recording per player (a close microphone each, or each player's track of a multitrack recording):
two people playing into one microphone cannot be told apart from the sound alone.

- **Unpitched** (drum, shaker, claps, tabla strokes): every hit found by the timing engine's onset
  detector (:func:`cadenza.timing.detect_onsets`, timed to the start of the attack) is a note; it lasts
  until the next hit (at most :data:`MAX_HIT_S`); the player counts as percussion, so no tonal figures.
- **Pitched** (voice, xylophone, piano, guitar): the notes are the steady-pitch segments of the pitch
  contour (:func:`cadenza.singing.track_pitch`, :func:`cadenza.singing.segment_notes`), each split again
  where a strong hit falls inside it (a repeated note on one pitch).

Velocity is the note's loudness against the recording's loudest note: the loudest is 127 and every
:data:`DB_PER_VELOCITY_STEP` dB softer is one step less (so 48 dB below the loudest is velocity 1). A
recording has no absolute MIDI velocity; only contrasts within it (and between players recorded at the
same gain) mean anything.

>>> import numpy as np
>>> notes_from_audio(np.zeros(8_000), sampling_rate_hz=8_000, pitched=False).n_notes
0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cadenza.errors import ParameterError
from cadenza.improv.events import Notes, Take, make_take

MAX_HIT_S = 0.5  # an unpitched hit sounds until the next one, at most this long
LEVEL_WINDOW_S = 0.03  # a note's loudness: RMS over its first 30 ms
DB_PER_VELOCITY_STEP = 48.0 / 126.0  # 48 dB of range over velocities 1-127
SPLIT_GUARD_S = 0.08  # a hit splits a pitched note only this far inside its ends
UNPITCHED_MIDI = 38.0  # a placeholder pitch for unpitched hits (General MIDI's snare); never analysed


def _check_samples(samples: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    from cadenza.timing.onsets import check_audio

    x = check_audio(samples, sampling_rate_hz=sampling_rate_hz)
    return x if x.ndim == 1 else x.mean(axis=0)


def _velocities(x: np.ndarray, starts_s: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    """Velocity 1-127 per note from the RMS of its first 30 ms, relative to the loudest note."""
    if starts_s.size == 0:
        return np.empty(0)
    width = max(1, int(round(LEVEL_WINDOW_S * sampling_rate_hz)))
    idx = np.clip(np.round(starts_s * sampling_rate_hz).astype(np.int64), 0, x.size - 1)
    rms = np.array([np.sqrt(np.mean(x[i:i + width] ** 2)) for i in idx])
    level_db = 20.0 * np.log10(np.maximum(rms, 1e-12) / max(float(rms.max()), 1e-12))
    return np.clip(np.round(127.0 + level_db / DB_PER_VELOCITY_STEP), 1, 127)


def notes_from_audio(samples: np.ndarray, *, sampling_rate_hz: float, pitched: bool) -> Notes:
    """One player's notes from their recording (``(n,)`` or ``(channels, n)``; channels are averaged).

    A recording without hits or voiced notes gives no notes; bad audio (NaN, a rate given in kHz) raises
    :class:`ParameterError` naming it.
    """
    from cadenza.timing import detect_onsets

    if not isinstance(pitched, bool):
        raise ParameterError(f"pitched must be True or False, got {pitched!r}")
    x = _check_samples(samples, sampling_rate_hz)
    rate = float(sampling_rate_hz)
    hits_s = detect_onsets(x, sampling_rate_hz=rate)
    if not pitched:
        ends_s = np.append(hits_s[1:], x.size / rate) if hits_s.size else hits_s
        durations_s = np.minimum(ends_s - hits_s, MAX_HIT_S)
        return Notes(hits_s, np.maximum(durations_s, 1e-3), np.full(hits_s.size, UNPITCHED_MIDI),
                     _velocities(x, hits_s, rate))
    from cadenza.singing import segment_notes, track_pitch

    track = track_pitch(x, sampling_rate_hz=rate)
    rows: list[tuple[float, float, float]] = []
    for note in segment_notes(track.times_s, track.f0_hz):
        inside = hits_s[(hits_s > note.onset_s + SPLIT_GUARD_S) & (hits_s < note.offset_s - SPLIT_GUARD_S)]
        bounds = [note.onset_s, *inside.tolist(), note.offset_s]
        rows.extend((a, b - a, note.pitch_midi) for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    if not rows:
        return Notes(np.empty(0), np.empty(0), np.empty(0), np.empty(0))
    starts, durations, pitches = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    return Notes(starts, durations, np.clip(pitches, 0, 127), _velocities(x, starts, rate))


def take_from_audio(parts: Sequence[tuple[str, np.ndarray, float, bool]]) -> Take:
    """A take from one recording per player: ``(player, samples, sampling_rate_hz, pitched)`` each.

    The recordings must start together (one multitrack recording, or players recorded against the same
    click); their times are not aligned here.
    """
    if not parts:
        raise ParameterError("parts must hold at least one (player, samples, sampling_rate_hz, pitched) recording")
    names = [part[0] for part in parts]
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ParameterError(f"players must be distinct non-empty names, got {names!r}")
    onsets, durations, pitches, velocities, players, percussion = [], [], [], [], [], []
    for name, samples, rate, pitched in parts:
        notes = notes_from_audio(samples, sampling_rate_hz=rate, pitched=pitched)
        onsets.append(notes.onset_times_s)
        durations.append(notes.durations_s)
        pitches.append(notes.pitches)
        velocities.append(notes.velocities)
        players += [name] * notes.n_notes
        if not pitched and notes.n_notes:
            percussion.append(name)
    return make_take(np.concatenate(onsets), durations_s=np.concatenate(durations), pitches=np.concatenate(pitches),
                     velocities=np.concatenate(velocities), players=players, percussion_players=percussion)
