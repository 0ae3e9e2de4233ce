"""Speech re-pitched and re-timed onto a melody (TD-PSOLA), humming, and tap clicks.

Pitch-synchronous overlap-add (TD-PSOLA; Moulines & Charpentier 1990, Speech Communication 9:453-467)
cuts the voiced parts of a recording into two-period grains centred on its glottal pulses ("pitch
marks") and lays them out again at the target period, which sets the pitch exactly while keeping the
voice's timbre; grains are repeated or skipped to follow a time map. Unvoiced sounds are laid out at a
fixed grain spacing and only re-timed.

The pitch tracker is YIN (de Cheveigné & Kawahara 2002, JASA 111:1917-1930), vectorised in numpy: it
is accurate on clean speech, needs no JIT warm-up, and it runs before every render.

Everything here is pure numpy: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

PITCH_FMIN_HZ = 60.0
PITCH_FMAX_HZ = 500.0
PITCH_HOP_S = 0.005
YIN_THRESHOLD = 0.2
YIN_BLOCK_FRAMES = 512
# Synthetic and recorded source speech is rougher than a singing voice; a laxer threshold keeps vowels voiced.
SOURCE_YIN_THRESHOLD = 0.3
# Weak periodicity that only counts where it leads straight into a voiced run (voice bars, breathy onsets).
ONSET_YIN_THRESHOLD = 0.5
# Frames quieter than this below the loudest frame are silence (no pitch, not part of a syllable).
SILENCE_BELOW_PEAK_DB = 50.0
UNVOICED_GRAIN_S = 0.005
# Syllable nuclei in one recording must be at least this far apart.
MIN_NUCLEUS_SEPARATION_S = 0.08
NUCLEUS_DIP_DB = (4.0, 1.5, 0.0)
# Share of the natural vowel kept at natural speed at each end when a vowel is lengthened; the
# middle is stretched, so consonant-vowel transitions keep their natural speed.
TRANSITION_SHARE = 0.25
EDGE_FADE_S = 0.005
# YIN finds spurious periodicity near fmin in frication and aspiration (/s/, /h/) for a frame or two;
# such a blip bridged to the vowel would pull the syllable's voiced onset into the consonant and make
# the heard vowel start late. Voiced runs shorter than this are dropped before gaps are bridged.
MIN_SOURCE_VOICED_RUN_S = 0.02
# Weak periodicity extends a voiced run backwards only while its pitch stays this near the run's.
ONSET_MAX_PITCH_JUMP_CENTS = 300.0


def _check_signal(name: str, y: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ParameterError(f"{name} must be a mono 1-D array, got shape {y.shape!r}")
    if not np.all(np.isfinite(y)):
        raise ParameterError(f"{name} contains NaN or infinite samples")
    if not np.isfinite(sampling_rate_hz) or not 8_000 <= sampling_rate_hz <= 192_000:
        raise ParameterError(
            f"sampling_rate_hz must be between 8000 and 192000 Hz, got {sampling_rate_hz!r} (kHz instead of Hz?)"
        )
    return y


def _frames(y: np.ndarray, frame_len: int, hop: int) -> np.ndarray:
    n_frames = 1 + max(0, (len(y) - 1) // hop)
    padded = np.concatenate([np.zeros(frame_len // 2), y, np.zeros(frame_len)])
    idx = np.arange(n_frames)[:, None] * hop + np.arange(frame_len)[None, :]
    return padded[idx]


def frame_rms_db(y: np.ndarray, *, sampling_rate_hz: float, hop_s: float = PITCH_HOP_S,
                 frame_s: float = 0.02) -> np.ndarray:
    """RMS level in dB (re full scale) of frames centred every ``hop_s``."""
    hop = max(1, int(round(hop_s * sampling_rate_hz)))
    frames = _frames(np.asarray(y, dtype=float), max(2, int(round(frame_s * sampling_rate_hz))), hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.maximum(rms, 1e-10))


def _yin_cmnd(frames: np.ndarray, win: int, tau_max: int) -> np.ndarray:
    """YIN's cumulative-mean-normalised difference for lags 0..tau_max of each frame (FFT correlation)."""
    n_fft = int(2 ** np.ceil(np.log2(2 * frames.shape[1])))
    spec_full = np.fft.rfft(frames, n_fft, axis=1)
    spec_win = np.fft.rfft(frames[:, :win], n_fft, axis=1)
    cross = np.fft.irfft(spec_full * np.conj(spec_win), n_fft, axis=1)[:, : tau_max + 1]
    sq = np.cumsum(np.concatenate([np.zeros((frames.shape[0], 1)), frames**2], axis=1), axis=1)
    taus = np.arange(tau_max + 1)
    diff = np.maximum(sq[:, win][:, None] + sq[:, taus + win] - sq[:, taus] - 2 * cross, 0.0)
    cum = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmnd[:, 1:] = np.where(cum > 0, diff[:, 1:] * taus[1:] / cum, 1.0)
    return cmnd


def track_pitch(
    y: np.ndarray,
    *,
    sampling_rate_hz: float,
    fmin_hz: float = PITCH_FMIN_HZ,
    fmax_hz: float = PITCH_FMAX_HZ,
    hop_s: float = PITCH_HOP_S,
    threshold: float = YIN_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """YIN pitch track: ``(times_s, f0_hz)`` with NaN where unvoiced or silent.

    >>> sr = 16_000; t = np.arange(sr // 2) / sr
    >>> times_s, f0_hz = track_pitch(np.sin(2 * np.pi * 150 * t), sampling_rate_hz=sr)
    >>> round(float(np.nanmedian(f0_hz)), 1)
    150.0
    """
    y = _check_signal("y", y, sampling_rate_hz)
    if not 20 <= fmin_hz < fmax_hz <= sampling_rate_hz / 4:
        raise ParameterError(f"need 20 <= fmin_hz < fmax_hz <= sampling_rate_hz/4, got {fmin_hz!r}, {fmax_hz!r}")
    hop = max(1, int(round(hop_s * sampling_rate_hz)))
    if y.size == 0:
        return np.empty(0), np.empty(0)
    tau_min = max(2, int(sampling_rate_hz / fmax_hz))
    tau_max = int(np.ceil(sampling_rate_hz / fmin_hz))
    win = tau_max
    frames = _frames(y, win + tau_max + 1, hop)
    # blocks of frames bound the memory of the FFTs for long recordings
    cmnd = np.concatenate([_yin_cmnd(frames[i:i + YIN_BLOCK_FRAMES], win, tau_max)
                           for i in range(0, frames.shape[0], YIN_BLOCK_FRAMES)])
    f0 = np.full(frames.shape[0], np.nan)
    below = cmnd[:, tau_min:] < threshold
    has = below.any(axis=1)
    first = np.argmax(below, axis=1) + tau_min
    level_db = 10 * np.log10(np.maximum(np.sum(frames[:, :win] ** 2, axis=1) / win, 1e-20))
    loud = level_db > level_db.max() - SILENCE_BELOW_PEAK_DB
    for i in np.flatnonzero(has & loud):
        tau = first[i]
        while tau + 1 < tau_max and cmnd[i, tau + 1] < cmnd[i, tau]:
            tau += 1
        a, b, c = cmnd[i, tau - 1], cmnd[i, tau], cmnd[i, min(tau + 1, tau_max)]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom > 0 else 0.0
        f0[i] = sampling_rate_hz / (tau + float(np.clip(shift, -0.5, 0.5)))
    times_s = np.arange(frames.shape[0]) * hop / sampling_rate_hz
    return times_s, f0


def fill_voicing_gaps(f0_hz: np.ndarray, *, max_gap_s: float = 0.04, hop_s: float = PITCH_HOP_S) -> np.ndarray:
    """Bridge short unvoiced dropouts inside voiced stretches by interpolating the pitch (YIN loses
    rough or creaky voice for a frame or two in the middle of a vowel).

    >>> fill_voicing_gaps(np.array([100.0, np.nan, 104.0, np.nan]), max_gap_s=0.01).tolist()
    [100.0, 102.0, 104.0, nan]
    """
    f0 = np.array(f0_hz, dtype=float)
    voiced = np.isfinite(f0)
    idx = np.flatnonzero(voiced)
    if idx.size < 2:
        return f0
    max_gap = int(round(max_gap_s / hop_s))
    for a, b in zip(idx, idx[1:]):
        if 1 < b - a <= max_gap + 1:
            f0[a + 1:b] = np.interp(np.arange(a + 1, b), [a, b], [f0[a], f0[b]])
    return f0


@dataclass(frozen=True)
class SyllableSegment:
    """Where a syllable lies in a recording: its start and end, and its voiced nucleus (where pitch is)."""

    start_s: float
    voiced_onset_s: float
    voiced_end_s: float
    end_s: float


def segment_syllables(
    y: np.ndarray,
    *,
    sampling_rate_hz: float,
    n_syllables: int,
    f0_hz: np.ndarray | None = None,
) -> list[SyllableSegment]:
    """Split a recording of one or more words into ``n_syllables`` syllables.

    Nuclei are the ``n_syllables`` strongest energy peaks of the voiced frames (at least 80 ms
    apart); boundaries fall at the energy minimum between neighbouring nuclei, so a consonant between
    two vowels (a stop closure, "r" in "very") starts the next syllable. ``f0_hz`` is the
    :func:`track_pitch` track at its default hop (computed if not given).
    """
    y = _check_signal("y", y, sampling_rate_hz)
    if not isinstance(n_syllables, int | np.integer) or n_syllables < 1:
        raise ParameterError(f"n_syllables must be a positive integer, got {n_syllables!r}")
    if y.size == 0 or not np.any(y):
        return []
    if f0_hz is None:
        _, f0_hz = track_pitch(y, sampling_rate_hz=sampling_rate_hz)
    f0_hz = fill_voicing_gaps(f0_hz)
    level_db = frame_rms_db(y, sampling_rate_hz=sampling_rate_hz)
    n = min(len(level_db), len(f0_hz))
    level_db, voiced = level_db[:n], np.isfinite(f0_hz[:n])
    active = np.flatnonzero(level_db > level_db.max() - SILENCE_BELOW_PEAK_DB)
    first, last = int(active[0]), int(active[-1]) + 1
    # Edge padding: zero padding would sink the first and last frames into a false dip, and a
    # recording that starts at its first sample would get a sliver of a syllable there.
    smooth = np.convolve(np.pad(level_db, 3, mode="edge"), np.ones(7) / 7, mode="valid")
    score = np.where(voiced, smooth, smooth - 40.0)  # nuclei are voiced
    peaks = [i for i in range(first, last)
             if score[i] >= score[max(first, i - 1)] and score[i] >= score[min(last - 1, i + 1)]]
    min_sep = int(MIN_NUCLEUS_SEPARATION_S / PITCH_HOP_S)
    order = sorted(peaks, key=lambda k: -score[k])
    chosen: list[int] = []
    # Two nuclei must be separated by a dip; relax the dip depth only if too few nuclei are found,
    # and take an unvoiced peak (a /ch/) only once every depth has failed on voiced ones, so "ve|ry"
    # is split at its shallow dip before "much" loses its vowel to the fricative.
    for candidates in ([i for i in order if voiced[i]], order):
        for dip_db in NUCLEUS_DIP_DB:
            chosen = []
            for i in candidates:
                if all(abs(i - c) >= min_sep
                       and smooth[min(i, c):max(i, c) + 1].min() <= min(score[i], score[c]) - dip_db
                       for c in chosen):
                    chosen.append(i)
                if len(chosen) == n_syllables:
                    break
            if len(chosen) == n_syllables:
                break
        if len(chosen) == n_syllables:
            break
    chosen.sort()
    if len(chosen) < n_syllables:  # too few peaks: split the active span evenly
        bounds = list(np.linspace(first, last, n_syllables + 1).astype(int))
        chosen = [a + int(np.argmax(score[a:b])) for a, b in zip(bounds, bounds[1:])]
    else:
        bounds = [first]
        for p, q in zip(chosen, chosen[1:]):
            bounds.append(p + int(np.argmin(smooth[p:q + 1])))
        bounds.append(last)
    segments = []
    for a, b, peak in zip(bounds, bounds[1:], chosen):
        if voiced[peak]:  # the nucleus is the voiced run through the energy peak, clipped to the segment
            on, off = peak, peak + 1
            while on > a and voiced[on - 1]:
                on -= 1
            while off < b and voiced[off]:
                off += 1
        else:
            on, off = a, b
        segments.append(SyllableSegment(*(k * PITCH_HOP_S for k in (a, on, off, b))))
    return segments


@dataclass(frozen=True)
class _Marks:
    idx: np.ndarray  # grain centres in samples
    half: np.ndarray  # grain half-length in samples
    voiced: np.ndarray


def _pitch_marks(y: np.ndarray, f0_times_s: np.ndarray, f0_hz: np.ndarray, sampling_rate_hz: float) -> _Marks:
    """Glottal-pulse marks in voiced runs (one per period, on the waveform peak), and evenly spaced
    marks elsewhere."""
    sr = sampling_rate_hz
    voiced_frames = np.isfinite(f0_hz)
    sample_t = np.arange(len(y)) / sr
    f0_filled = np.interp(sample_t, f0_times_s[voiced_frames], f0_hz[voiced_frames]) if voiced_frames.any() \
        else np.full(len(y), 100.0)
    voiced_sample = np.interp(sample_t, f0_times_s, voiced_frames.astype(float)) > 0.5
    idx, half, voiced = [], [], []
    uv_step = max(1, int(round(UNVOICED_GRAIN_S * sr)))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced_sample.astype(int), [0]])))
    runs = list(zip(edges[::2], edges[1::2]))
    cursor = 0
    for a, b in runs + [(len(y), len(y))]:
        for m in range(cursor + uv_step // 2, a, uv_step):
            idx.append(m), half.append(uv_step), voiced.append(False)
        if a >= b:
            continue
        seg = y[a:b]
        sign = 1.0 if seg.max() >= -seg.min() else -1.0
        period = int(round(sr / f0_filled[a]))
        m = a + int(np.argmax(sign * y[a:min(b, a + period)]))
        while m < b:
            period = max(2, int(round(sr / f0_filled[m])))
            idx.append(m), half.append(period), voiced.append(True)
            lo, hi = m + period - period // 5, m + period + period // 5 + 1
            if lo >= b:
                break
            m = lo + int(np.argmax(sign * y[lo:min(hi, len(y))]))
        cursor = b
    return _Marks(np.array(idx, dtype=np.int64), np.array(half, dtype=np.int64), np.array(voiced, dtype=bool))


def _psola(y: np.ndarray, marks: _Marks, out: np.ndarray, *, src_anchor: np.ndarray, tgt_anchor: np.ndarray,
           period_out: float) -> None:
    """Overlap-add grains of ``y`` into ``out`` along the time map ``tgt_anchor -> src_anchor`` (samples);
    voiced grains are spaced ``period_out`` samples apart."""
    if marks.idx.size == 0:
        return
    pad = int(marks.half.max()) + 1
    src = np.concatenate([np.zeros(pad), y, np.zeros(pad)])
    t, t_end = float(tgt_anchor[0]), float(tgt_anchor[-1])
    windows: dict[int, np.ndarray] = {}
    while t < t_end:
        s = np.interp(t, tgt_anchor, src_anchor)
        k = int(np.searchsorted(marks.idx, s))
        if k == marks.idx.size or (k > 0 and s - marks.idx[k - 1] < marks.idx[k] - s):
            k -= 1
        half = int(marks.half[k])
        if marks.voiced[k]:
            step, gain = period_out, min(2.0, period_out / half)
        else:
            step, gain = float(half), 1.0
        if half not in windows:
            windows[half] = np.hanning(2 * half + 1)
        grain = src[marks.idx[k] + pad - half: marks.idx[k] + pad + half + 1] * windows[half] * gain
        at = int(round(t)) - half
        lo, hi = max(0, at), min(len(out), at + grain.size)
        if hi > lo:
            out[lo:hi] += grain[lo - at: hi - at]
        t += step


@dataclass(frozen=True)
class SourceSpeech:
    """A recording whose syllables are to be intoned, analysed once: its pitch marks and segments."""

    samples: np.ndarray
    segments: tuple[SyllableSegment, ...]
    marks: _Marks


def _extend_voicing_backwards(f0_hz: np.ndarray, weak_f0_hz: np.ndarray) -> np.ndarray:
    """Start each voiced run where weak periodicity begins (a voice bar before a voiced stop), so
    the whole voiced onset is re-pitched and the syllable onset is where voicing is first heard."""
    f0 = f0_hz.copy()
    starts = np.flatnonzero(np.isfinite(f0[1:]) & ~np.isfinite(f0[:-1])) + 1
    if np.isfinite(f0[0]):
        starts = starts[starts > 0]
    for a in starts:
        while (a > 0 and not np.isfinite(f0[a - 1]) and np.isfinite(weak_f0_hz[a - 1])
               and abs(1200 * np.log2(weak_f0_hz[a - 1] / f0[a])) <= ONSET_MAX_PITCH_JUMP_CENTS):
            f0[a - 1] = weak_f0_hz[a - 1]
            a -= 1
    return f0


def _drop_short_voiced_runs(f0_hz: np.ndarray, *, min_frames: int) -> np.ndarray:
    """NaN out voiced runs shorter than ``min_frames`` frames.

    >>> _drop_short_voiced_runs(np.array([np.nan, 61.0, np.nan, 200.0, 201.0, 202.0]), min_frames=2).tolist()
    [nan, nan, nan, 200.0, 201.0, 202.0]
    """
    f0 = np.array(f0_hz, dtype=float)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.isfinite(f0).astype(int), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a < min_frames:
            f0[a:b] = np.nan
    return f0


def analyse_source(y: np.ndarray, *, sampling_rate_hz: float, n_syllables: int) -> SourceSpeech:
    """Pitch-track, segment and pitch-mark a recording of one word (or a whole phrase)."""
    y = _check_signal("y", y, sampling_rate_hz)
    times_s, f0_hz = track_pitch(y, sampling_rate_hz=sampling_rate_hz, threshold=SOURCE_YIN_THRESHOLD)
    _, weak_f0_hz = track_pitch(y, sampling_rate_hz=sampling_rate_hz, threshold=ONSET_YIN_THRESHOLD)
    f0_hz = _drop_short_voiced_runs(f0_hz, min_frames=int(round(MIN_SOURCE_VOICED_RUN_S / PITCH_HOP_S)))
    f0_hz = _extend_voicing_backwards(fill_voicing_gaps(f0_hz), weak_f0_hz)
    segments = segment_syllables(y, sampling_rate_hz=sampling_rate_hz, n_syllables=n_syllables, f0_hz=f0_hz)
    return SourceSpeech(samples=y, segments=tuple(segments),
                        marks=_pitch_marks(y, times_s, f0_hz, sampling_rate_hz))


def _check_plan(onset_times_s, durations_s, pitches_hz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    onsets = np.asarray(onset_times_s, dtype=float).ravel()
    durations = np.asarray(durations_s, dtype=float).ravel()
    pitches = np.asarray(pitches_hz, dtype=float).ravel()
    if not (onsets.size == durations.size == pitches.size):
        raise ParameterError(
            f"onset_times_s, durations_s and pitches_hz must have one entry per syllable, got sizes "
            f"{onsets.size}, {durations.size}, {pitches.size}"
        )
    if onsets.size and (np.any(~np.isfinite(onsets)) or np.any(onsets < 0) or np.any(np.diff(onsets) <= 0)):
        raise ParameterError(f"onset_times_s must be increasing times >= 0 in seconds, got {onsets!r}")
    if np.any(~np.isfinite(durations)) or np.any(durations <= 0):
        raise ParameterError(f"durations_s must be positive seconds, got {durations!r}")
    if np.any(~np.isfinite(pitches)) or np.any((pitches < 40) | (pitches > 1500)):
        raise ParameterError(f"pitches_hz must be between 40 and 1500 Hz, got {pitches!r} (MIDI numbers?)")
    return onsets, durations, pitches


def render_intoned(
    sources: Sequence[SourceSpeech],
    *,
    sampling_rate_hz: float,
    onset_times_s: np.ndarray,
    durations_s: np.ndarray,
    pitches_hz: np.ndarray,
    gap_s: float = 0.08,
    total_duration_s: float | None = None,
) -> np.ndarray:
    """Sing the syllables of ``sources`` (in order) on the melody.

    Each syllable's voiced nucleus starts exactly at its onset time, on its pitch, and is held until
    ``gap_s`` before the next syllable's first sound; unvoiced consonants keep their natural length,
    before the onset (e.g. "th" of "thank") or after the nucleus ("p" of "help").
    """
    onsets, durations, pitches = _check_plan(onset_times_s, durations_s, pitches_hz)
    segs = [(src, seg) for src in sources for seg in src.segments]
    if len(segs) != onsets.size:
        raise ParameterError(
            f"the sources hold {len(segs)} syllables but the melody has {onsets.size} notes; "
            "analyse each source with the syllable count of its word"
        )
    if not np.isfinite(gap_s) or not 0 <= gap_s <= 0.5:
        raise ParameterError(f"gap_s must be between 0 and 0.5 seconds, got {gap_s!r}")
    sr = float(sampling_rate_hz)
    end_s = float(onsets[-1] + durations[-1]) if onsets.size else 0.0
    if total_duration_s is not None:
        end_s = max(end_s, float(total_duration_s))
    out = np.zeros(int(np.ceil(end_s * sr)) + 1)
    for i, (src, seg) in enumerate(segs):
        pre = seg.voiced_onset_s - seg.start_s
        post = seg.end_s - seg.voiced_end_s
        natural = seg.voiced_end_s - seg.voiced_onset_s
        if i + 1 < len(segs):
            nxt = segs[i + 1][1]
            next_start = onsets[i + 1] - (nxt.voiced_onset_s - nxt.start_s)
        else:
            next_start = onsets[i] + durations[i]
        gap = min(gap_s, 0.1 * durations[i])
        held = max(0.04, next_start - gap - post - onsets[i])
        g = onsets[i]
        start = max(0.0, g - pre)
        src_pts = [seg.voiced_onset_s - (g - start), seg.voiced_onset_s]
        tgt_pts = [start, g]
        if held > natural and natural > 0:
            edge = TRANSITION_SHARE * natural
            src_pts += [seg.voiced_onset_s + edge, seg.voiced_end_s - edge]
            tgt_pts += [g + edge, g + held - edge]
        src_pts += [seg.voiced_end_s, seg.end_s]
        tgt_pts += [g + held, g + held + post]
        piece = np.zeros_like(out)
        _psola(src.samples, src.marks, piece, src_anchor=np.array(src_pts) * sr, tgt_anchor=np.array(tgt_pts) * sr,
               period_out=sr / pitches[i])
        lo, hi = int(tgt_pts[0] * sr), min(len(out), int(np.ceil(tgt_pts[-1] * sr)) + 1)
        fade = min(int(EDGE_FADE_S * sr), max(1, (hi - lo) // 4))
        env = np.ones(hi - lo)
        env[:fade] = np.linspace(0, 1, fade)
        env[-fade:] = np.linspace(1, 0, fade)
        out[lo:hi] += piece[lo:hi] * env
    return out.astype(np.float32)


def render_hum(
    onset_times_s: np.ndarray,
    durations_s: np.ndarray,
    pitches_hz: np.ndarray,
    *,
    sampling_rate_hz: float,
    gap_s: float = 0.08,
    n_harmonics: int = 8,
    total_duration_s: float | None = None,
) -> np.ndarray:
    """A hummed melody: harmonics at 1/k^2 amplitude, 40 ms attack, 80 ms release, one note per syllable.

    >>> y = render_hum(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([110.0, 130.8]), sampling_rate_hz=8000)
    >>> y.shape, float(np.abs(y).max()) <= 1.0
    ((16001,), True)
    """
    onsets, durations, pitches = _check_plan(onset_times_s, durations_s, pitches_hz)
    if not np.isfinite(sampling_rate_hz) or sampling_rate_hz < 4000:
        raise ParameterError(f"sampling_rate_hz must be >= 4000 Hz, got {sampling_rate_hz!r}")
    sr = float(sampling_rate_hz)
    end_s = float(onsets[-1] + durations[-1]) if onsets.size else 0.0
    if total_duration_s is not None:
        end_s = max(end_s, float(total_duration_s))
    out = np.zeros(int(np.ceil(end_s * sr)) + 1)
    weights = 1.0 / np.arange(1, n_harmonics + 1) ** 2
    weights /= weights.sum()
    for g, d, f in zip(onsets, durations, pitches):
        length = int(round(max(0.05, d - min(gap_s, 0.1 * d)) * sr))
        t = np.arange(length) / sr
        ks = np.arange(1, n_harmonics + 1)
        ks = ks[ks * f < sr / 2]
        note = (weights[: ks.size, None] * np.sin(2 * np.pi * f * ks[:, None] * t[None, :])).sum(axis=0)
        env = np.ones(length)
        a, r = min(length // 3, int(0.04 * sr)), min(length // 3, int(0.08 * sr))
        env[:a] = np.linspace(0, 1, a)
        env[length - r:] = np.linspace(1, 0, r)
        start = int(round(g * sr))
        stop = min(len(out), start + length)
        out[start:stop] += 0.5 * (note * env)[: stop - start]
    return out.astype(np.float32)


def render_taps(onset_times_s: np.ndarray, *, duration_s: float, sampling_rate_hz: float,
                click_hz: float = 2000.0, click_s: float = 0.015) -> np.ndarray:
    """A decaying sine click starting exactly at each onset (the therapist's tap on the hand).

    >>> y = render_taps(np.array([0.5]), duration_s=1.0, sampling_rate_hz=8000)
    >>> int(np.flatnonzero(np.abs(y) > 0.01)[0])
    4000
    """
    onsets = np.asarray(onset_times_s, dtype=float).ravel()
    if onsets.size and (np.any(~np.isfinite(onsets)) or np.any(onsets < 0)):
        raise ParameterError(f"onset_times_s must be finite times >= 0 in seconds, got {onsets!r}")
    if not np.isfinite(duration_s) or duration_s < 0:
        raise ParameterError(f"duration_s must be >= 0 seconds, got {duration_s!r}")
    sr = float(sampling_rate_hz)
    out = np.zeros(int(np.ceil(duration_s * sr)) + 1)
    n = max(1, int(click_s * sr))
    t = np.arange(n) / sr
    click = 0.8 * np.sin(2 * np.pi * click_hz * t + np.pi / 2) * np.exp(-t / (click_s / 5))
    for g in onsets:
        start = int(round(g * sr))
        stop = min(len(out), start + n)
        if stop > start:
            out[start:stop] += click[: stop - start]
    return out.astype(np.float32)
