"""Measure a person's intoned attempt against the target melody: syllable onsets and pitch.

The pitch contour comes from probabilistic YIN (pYIN; Mauch & Dixon 2014, ICASSP), librosa's pYIN
computed with a banded Viterbi (:mod:`cadenza.singing.pyin`: the same contour, numpy only). A
syllable onset is where voicing starts, or, inside a voiced stretch, where the pitch steps to another
note or the level rises out of a dip (a consonant between two vowels). The attempt is compared with
the target rhythm after removing one overall delay (people start when they are ready), and its
pitches after removing one overall transposition (people sing in their own range): each syllable is
then judged on the high or the low pitch.

The tolerances are conventions of this project, not clinical norms: 150 ms for timing at about one
syllable per second, and half the interval (a syllable is "high" when it is nearer the high pitch).

Before anything is scored the recording must look like one attempt at the phrase: about the phrase's
number of syllable onsets (:func:`check_attempt`). Anything else (music, several phrases, silence)
is "no attempt found", never a score: dense note onsets of an instrumental recording otherwise fall
inside the timing window of every syllable (a 30-s piano excerpt once scored "timing match 100 %").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.mit.melody import Melody

DEFAULT_TIMING_TOLERANCE_S = 0.15
PYIN_FMIN_HZ = 60.0
PYIN_FMAX_HZ = 700.0
PYIN_FRAME_S = 0.046
PYIN_HOP_S = 0.0058
MIN_VOICED_RUN_S = 0.05
# A voiced stretch much quieter than the loudest one is noise or breath that pYIN called voiced.
QUIET_RUN_BELOW_PEAK_DB = 25.0
PITCH_STEP_CENTS = 150.0
LEVEL_RISE_DB = 6.0
MAX_OFFSET_S = 5.0
# pYIN's voicing decision lags a breathy vowel onset (after /h/, or a slow voicing rise after a
# voiceless stop) by up to ~50 ms: the vowel is already periodic, but noisy. A voiced run's start is
# moved back over frames whose normalised autocorrelation at the run's own period reaches this value
# (aspiration noise stays near 0.1-0.2, the breathy vowel is 0.4-0.6 on rendered speech), at most
# this far and never into the previous voiced run; dips of a frame or two are bridged.
BREATHY_PERIODICITY = 0.4
MAX_BREATHY_ONSET_S = 0.08
BREATHY_MAX_DIP_FRAMES = 2
# A 25 ms window averages out the chance periodicity of a short stretch of frication; frames more
# than this below the run's first 50 ms are the silent edge before the consonant, not voicing.
BREATHY_WINDOW_S = 0.025
BREATHY_BELOW_RUN_DB = 20.0
# One attempt holds about the phrase's syllables: at most this many extra onsets (or half the
# syllable count, if more), and at least half of its syllables matched to an onset. Project
# convention, measured on rendered attempts (intoned, sprechgesang and spoken, two voices: at most
# 2 extra onsets) and instrumental excerpts (docs/mit.md, "No attempt found").
MIN_EXTRA_ONSETS_ALLOWED = 2


@dataclass(frozen=True)
class PitchContour:
    """A recorded attempt's pitch (Hz, NaN where unvoiced) and level (dB) over time."""

    times_s: np.ndarray
    f0_hz: np.ndarray  # NaN where unvoiced
    level_db: np.ndarray


@dataclass(frozen=True)
class SyllableResult:
    index: int
    text: str
    target_onset_s: float
    onset_s: float  # NaN if no onset was found for this syllable
    timing_error_s: float  # after removing the overall delay
    timing_ok: bool
    target_high: bool
    pitch_hz: float
    pitch_error_cents: float  # after removing the overall transposition
    sung_high: bool | None
    pitch_ok: bool


@dataclass(frozen=True)
class ResponseAnalysis:
    """How an attempt matched the melody; ``syllables`` holds one result per target syllable."""

    syllables: tuple[SyllableResult, ...]
    offset_s: float
    transposition_cents: float
    timing_tolerance_s: float
    n_onsets_found: int
    contour: PitchContour
    attempt_found: bool = True
    attempt_problem: str = ""  # why no attempt was found ("" when one was)

    @property
    def timing_match(self) -> float:
        """Share of syllables whose onset is within the tolerance of the target rhythm (NaN: no attempt)."""
        if not self.attempt_found or not self.syllables:
            return float("nan")
        return float(np.mean([s.timing_ok for s in self.syllables]))

    @property
    def pitch_pattern_followed(self) -> bool:
        """True when every syllable of a found attempt was on the intended one of the two pitches."""
        return self.attempt_found and bool(self.syllables) and all(s.pitch_ok for s in self.syllables)

    @property
    def median_abs_timing_error_s(self) -> float:
        errs = [abs(s.timing_error_s) for s in self.syllables if np.isfinite(s.timing_error_s)]
        return float(np.median(errs)) if errs else float("nan")

    def to_dict(self) -> dict:
        def clean(v):
            if isinstance(v, float | np.floating):
                return None if not np.isfinite(v) else round(float(v), 4)
            return bool(v) if isinstance(v, np.bool_) else v

        return {
            "attempt_found": self.attempt_found,
            "attempt_problem": self.attempt_problem,
            "timing_match": clean(self.timing_match),
            "pitch_pattern_followed": self.pitch_pattern_followed,
            "median_abs_timing_error_s": clean(self.median_abs_timing_error_s),
            "offset_s": clean(self.offset_s),
            "transposition_cents": clean(self.transposition_cents),
            "timing_tolerance_s": self.timing_tolerance_s,
            "n_onsets_found": self.n_onsets_found,
            "syllables": [{k: clean(v) for k, v in s.__dict__.items()} for s in self.syllables],
        }


def measure_pitch_contour(y: np.ndarray, *, sampling_rate_hz: float) -> PitchContour:
    """pYIN pitch (NaN when unvoiced) and frame level in dB, on a ~5.8 ms grid.

    The contour is ``librosa.pyin``'s (same frames, same decoded states), from
    :func:`cadenza.singing.pyin.track_pyin`, and the level librosa's RMS (``feature.rms``, centred
    frames of half the pYIN frame): neither imports librosa, so the limited child that analyses an
    upload starts in milliseconds instead of seconds."""
    from cadenza.singing.pyin import track_pyin

    y = np.asarray(y, dtype=float)
    hop = max(1, int(round(PYIN_HOP_S * sampling_rate_hz)))
    frame = int(2 ** np.round(np.log2(PYIN_FRAME_S * sampling_rate_hz)))
    if y.size < frame:
        return PitchContour(np.empty(0), np.empty(0), np.empty(0))
    track = track_pyin(y, fmin_hz=PYIN_FMIN_HZ, fmax_hz=PYIN_FMAX_HZ, sampling_rate_hz=sampling_rate_hz,
                       frame_length=frame, hop_length=hop)
    f0 = _extend_breathy_onsets(y, track.f0_hz, hop=hop, sampling_rate_hz=sampling_rate_hz)
    rms = _frame_rms(y, frame_length=frame // 2, hop_length=hop)[: f0.size]
    level_db = 20 * np.log10(np.maximum(rms, 1e-10))
    times_s = np.arange(f0.size) * hop / sampling_rate_hz
    return PitchContour(times_s=times_s, f0_hz=f0, level_db=level_db)


def _frame_rms(y: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """RMS of centred frames (zero padding), as ``librosa.feature.rms(y=y, ...)[0]`` computes it."""
    padded = np.pad(y, (frame_length // 2, frame_length // 2), mode="constant")
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length].T
    return np.sqrt(np.mean(np.square(frames, dtype=np.float32), axis=-2, keepdims=True))[0]  # float32, as librosa


def _periodicity(y: np.ndarray, centre: int, period: float, window: int) -> float:
    """Normalised autocorrelation of ``y`` around sample ``centre`` at lags within 4 % of ``period``
    (a breathy onset glides a little into its note; a voiced fricative at another pitch is excluded)."""
    lo = max(0, centre - window // 2)
    a = y[lo:centre + window // 2]
    best = -1.0
    for lag in range(max(1, int(period * 0.96)), int(np.ceil(period * 1.04)) + 1):
        b = y[lo + lag:lo + lag + a.size]
        n = b.size
        energy = np.sqrt(np.dot(a[:n], a[:n]) * np.dot(b, b))
        if n and energy > 0:
            best = max(best, float(np.dot(a[:n], b)) / energy)
    return best


def _extend_breathy_onsets(y: np.ndarray, f0_hz: np.ndarray, *, hop: int, sampling_rate_hz: float) -> np.ndarray:
    """Move each voiced run's start back to where its periodicity begins (see BREATHY_PERIODICITY)."""
    f0 = f0_hz.copy()
    voiced = np.isfinite(f0_hz)
    starts = np.flatnonzero(voiced[1:] & ~voiced[:-1]) + 1
    max_back = int(round(MAX_BREATHY_ONSET_S * sampling_rate_hz / hop))
    settle = max(1, int(round(0.03 * sampling_rate_hz / hop)))
    for a in starts:
        run = f0_hz[a:a + settle]
        pitch = float(np.median(run[np.isfinite(run)]))
        period = sampling_rate_hz / pitch
        window = int(round(BREATHY_WINDOW_S * sampling_rate_hz))
        head = y[a * hop:a * hop + int(0.05 * sampling_rate_hz)]
        floor = np.sqrt(np.mean(head**2)) * 10 ** (-BREATHY_BELOW_RUN_DB / 20) if head.size else 0.0
        onset, dip = a, 0
        for i in range(a - 1, max(-1, a - 1 - max_back), -1):
            if voiced[i]:
                break
            frame = y[max(0, i * hop - window // 2):i * hop + window // 2]
            loud = frame.size > 0 and np.sqrt(np.mean(frame**2)) >= floor
            if loud and _periodicity(y, i * hop, period, window) >= BREATHY_PERIODICITY:
                onset, dip = i, 0
            else:
                dip += 1
                if dip > BREATHY_MAX_DIP_FRAMES:
                    break
        f0[onset:a] = pitch
    return f0


def check_attempt(*, n_onsets: int, n_syllables: int, n_matched: int) -> str:
    """Why a recording is not one attempt at a phrase of ``n_syllables``, or "" when it is.

    ``n_onsets`` syllable-like onsets were found in the whole recording and ``n_matched`` of the
    phrase's syllables were paired with one. An attempt has at most
    ``max(MIN_EXTRA_ONSETS_ALLOWED, ceil(n_syllables / 2))`` onsets more than syllables and at
    least half of its syllables matched.

    >>> check_attempt(n_onsets=5, n_syllables=4, n_matched=4)
    ''
    >>> check_attempt(n_onsets=63, n_syllables=4, n_matched=4)[:40]
    'the recording has 63 sound onsets for a '
    """
    if n_syllables < 1:
        raise ParameterError(f"n_syllables must be >= 1, got {n_syllables!r}")
    if n_onsets == 0:
        return "no voice was found in the recording"
    allowed = n_syllables + max(MIN_EXTRA_ONSETS_ALLOWED, -(-n_syllables // 2))
    if n_onsets > allowed:
        return (f"the recording has {n_onsets} sound onsets for a phrase of {n_syllables} syllables "
                f"(at most {allowed} expected): music, background speech or several phrases? "
                "Record one attempt at the phrase")
    if 2 * n_matched < n_syllables:
        return (f"only {n_matched} of the phrase's {n_syllables} syllables could be found in the recording; "
                "record the whole phrase")
    return ""


def detect_syllable_onsets(contour: PitchContour) -> np.ndarray:
    """Candidate syllable onsets (seconds, sorted): voicing starts, pitch steps, and level rises
    inside voiced stretches."""
    t, f0, level = contour.times_s, contour.f0_hz, contour.level_db
    if t.size == 0:
        return np.empty(0)
    hop_s = float(t[1] - t[0]) if t.size > 1 else PYIN_HOP_S
    voiced = np.isfinite(f0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(int), [0]])))
    min_run = max(1, int(MIN_VOICED_RUN_S / hop_s))
    onsets: list[float] = []
    loudest = float(np.max(level[voiced])) if voiced.any() else 0.0
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a < min_run or np.max(level[a:b]) < loudest - QUIET_RUN_BELOW_PEAK_DB:
            continue
        onsets.append(t[a])
        cents = 1200 * np.log2(f0[a:b] / 100.0)
        w = max(2, int(0.04 / hop_s))
        last = a
        for i in range(a + w, b - w):
            before, after = np.median(cents[i - a - w:i - a]), np.median(cents[i - a:i - a + w])
            rise = np.min(level[i:i + w]) - np.min(level[i - w:i])
            if i - last >= min_run * 2 and b - i >= min_run and (
                abs(after - before) >= PITCH_STEP_CENTS or rise >= LEVEL_RISE_DB
            ):
                # the step is where the pitch crosses the midpoint between the two sides
                mid = 0.5 * (before + after)
                seg = cents[i - a - w:i - a + w]
                cross = int(np.argmin(np.abs(seg - mid))) if abs(after - before) >= PITCH_STEP_CENTS else w
                onsets.append(t[i - w + cross])
                last = i + w
    return np.array(sorted(onsets))


def _assign(candidates: np.ndarray, targets: np.ndarray, offset: float, tol: float) -> np.ndarray:
    """Monotonic one-to-one assignment of candidates to targets (DP), minimising the clipped error."""
    n, m = targets.size, candidates.size
    big = 4 * tol
    cost = np.full((n + 1, m + 1), np.inf)
    cost[0, :] = 0.0
    choice = np.zeros((n + 1, m + 1), dtype=np.int8)
    for i in range(1, n + 1):
        cost[i, 0] = cost[i - 1, 0] + big
        for j in range(1, m + 1):
            skip_target = cost[i - 1, j] + big
            skip_cand = cost[i, j - 1]
            match = cost[i - 1, j - 1] + min(abs(candidates[j - 1] - targets[i - 1] - offset), big)
            best = min(skip_target, skip_cand, match)
            cost[i, j] = best
            choice[i, j] = 0 if best == match else (1 if best == skip_target else 2)
    out = np.full(n, np.nan)
    i, j = n, m
    while i > 0 and j > 0:
        if choice[i, j] == 0:
            if abs(candidates[j - 1] - targets[i - 1] - offset) < big:
                out[i - 1] = candidates[j - 1]
            i, j = i - 1, j - 1
        elif choice[i, j] == 1:
            i -= 1
        else:
            j -= 1
    return out


def analyse_response(
    y: np.ndarray,
    *,
    sampling_rate_hz: float,
    melody: Melody,
    timing_tolerance_s: float = DEFAULT_TIMING_TOLERANCE_S,
    allow_transposition: bool = True,
    contour: PitchContour | None = None,
) -> ResponseAnalysis:
    """Compare a recorded attempt with ``melody``: onset timing per syllable and the two-pitch pattern.

    The overall delay is the one that brings the most detected onsets within the tolerance of the
    target onsets (ties: smallest total error, then nearest the in-order pairing); each syllable's pitch is the median pYIN pitch of its
    first 60 % (never past the next syllable's onset).
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ParameterError(f"y must be a mono 1-D array, got shape {y.shape!r}")
    if not np.all(np.isfinite(y)):
        raise ParameterError("y contains NaN or infinite samples")
    if not np.isfinite(sampling_rate_hz) or not 8_000 <= sampling_rate_hz <= 192_000:
        raise ParameterError(f"sampling_rate_hz must be between 8000 and 192000 Hz, got {sampling_rate_hz!r}")
    if not np.isfinite(timing_tolerance_s) or not 0.01 <= timing_tolerance_s <= 1.0:
        raise ParameterError(f"timing_tolerance_s must be between 0.01 and 1.0 seconds, got {timing_tolerance_s!r}")
    if contour is None:
        contour = measure_pitch_contour(y, sampling_rate_hz=sampling_rate_hz)
    candidates = detect_syllable_onsets(contour)
    targets = melody.onset_times_s
    tol = timing_tolerance_s
    # Ties (e.g. a late first syllable vs. the whole phrase a syllable late with one extra sound) go to
    # the delay nearest the one implied by pairing onsets in order.
    n_pair = min(candidates.size, targets.size)
    in_order = float(np.median(candidates[:n_pair] - targets[:n_pair])) if n_pair else 0.0
    best: tuple = (-1, np.inf, np.inf, 0.0)
    for off in {round(float(c - g), 4) for c in candidates for g in targets} | {0.0}:
        if abs(off) > MAX_OFFSET_S and off != 0.0:
            continue
        d = np.abs(candidates[None, :] - targets[:, None] - off) if candidates.size else np.full((targets.size, 1), np.inf)
        nearest = d.min(axis=1)
        key = (-int(np.sum(nearest <= tol)), round(float(np.sum(np.minimum(nearest, 2 * tol))), 3), abs(off - in_order))
        if key < best[:3]:
            best = (*key, off)
    offset = best[3]
    onsets = _assign(candidates, targets, offset, tol) if candidates.size else np.full(targets.size, np.nan)
    # refine the delay as the median error of the matched syllables, so one late syllable shows as late
    matched = np.isfinite(onsets)
    if matched.any():
        offset = float(np.median(onsets[matched] - targets[matched]))
    t, f0 = contour.times_s, contour.f0_hz
    pitches = np.full(targets.size, np.nan)
    starts = np.where(np.isfinite(onsets), onsets, targets + offset)
    for i, note in enumerate(melody.notes):
        start = starts[i]
        stop = start + 0.03 + 0.6 * note.duration_s
        if i + 1 < len(starts) and starts[i + 1] > start + 0.05:
            stop = min(stop, starts[i + 1] - 0.01)  # never into the next syllable
        sel = (t >= start + 0.03) & (t < stop) & np.isfinite(f0)
        if sel.any():
            pitches[i] = float(np.median(f0[sel]))
    target_cents = np.array([100 * n.midi_pitch for n in melody.notes])
    with np.errstate(divide="ignore", invalid="ignore"):
        sung_cents = 100 * (69 + 12 * np.log2(pitches / 440.0))
    dev = sung_cents - target_cents
    transposition = float(np.nanmedian(dev)) if allow_transposition and np.isfinite(dev).any() else 0.0
    half_interval = 50 * (melody.high_midi - melody.low_midi)
    results = []
    for i, note in enumerate(melody.notes):
        err_t = float(onsets[i] - targets[i] - offset) if np.isfinite(onsets[i]) else float("nan")
        err_c = float(dev[i] - transposition) if np.isfinite(dev[i]) else float("nan")
        if np.isfinite(sung_cents[i]):
            rel = sung_cents[i] - transposition - 100 * melody.low_midi
            sung_high: bool | None = bool(rel > half_interval)
        else:
            sung_high = None
        results.append(SyllableResult(
            index=i, text=note.syllable.text, target_onset_s=float(targets[i]), onset_s=float(onsets[i]),
            timing_error_s=err_t, timing_ok=bool(np.isfinite(err_t) and abs(err_t) <= tol),
            target_high=note.high, pitch_hz=float(pitches[i]), pitch_error_cents=err_c, sung_high=sung_high,
            pitch_ok=bool(sung_high is not None and sung_high == note.high and abs(err_c) < half_interval),
        ))
    problem = check_attempt(n_onsets=int(candidates.size), n_syllables=int(targets.size),
                            n_matched=int(np.sum(matched)))
    return ResponseAnalysis(syllables=tuple(results), offset_s=offset, transposition_cents=transposition,
                            timing_tolerance_s=tol, n_onsets_found=int(candidates.size), contour=contour,
                            attempt_found=not problem, attempt_problem=problem)
