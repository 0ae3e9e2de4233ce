"""Music mode: the person's own song, beat-synchronously time-warped onto the cue's beat grid.

Each inter-beat segment of the song is stretched to the target period (beat-synchronous time-warping),
so beats land on the target grid even when the performance drifts in tempo. A song shorter than the
session is looped from its first beat, one beat period after its last beat, so the beat never skips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.render.clicks import tempo_curve_beat_times_s
from cadenza.render.stretch import TimeMap, beat_time_map, make_stretcher

SEAM_FADE_S = 0.01  # short equal-gain crossfade where a looped song restarts
MIN_SOURCE_BEATS = 4
ENVELOPE_HOP_S = 0.0015
ALIGN_HALF_WINDOW_S = 0.15
ALIGN_MAX_LAG_S = 0.06
MIN_ALIGNMENT_R = 0.3
ONSET_NEAR_BEAT_S = 0.04
ONSET_STRENGTH_FRACTION = 0.5  # of the excerpt's 99th-percentile onset strength
ENVELOPE_SMOOTH_S = 0.006  # smoothing keeps the onset shape but not the frame-to-frame flux of noise


@dataclass(frozen=True)
class WarpedMusic:
    """Music time-warped onto a beat grid: the output samples, where each source beat landed, and the rates used."""

    samples: np.ndarray  # (n,) or (channels, n), float32
    sampling_rate_hz: int
    target_beat_times_s: np.ndarray  # where each source beat was placed
    source_beat_times_s: np.ndarray  # the source beats used (looped copies included), in source time
    source_samples: np.ndarray  # the (looped) source that was stretched
    time_map: TimeMap
    rate_min: float  # local playback rates used (output/in); 1.1 = 10 % faster
    rate_max: float


def _validated_beats(beat_times_s: np.ndarray, duration_s: float) -> np.ndarray:
    beats = np.asarray(beat_times_s, dtype=float)
    if beats.ndim != 1 or not np.all(np.isfinite(beats)):
        raise ParameterError(f"source_beat_times_s must be a finite 1-D array, got shape {beats.shape!r}")
    if np.any(np.diff(beats) <= 0):
        raise ParameterError("source_beat_times_s must be strictly increasing")
    beats = beats[(beats >= 0) & (beats < duration_s)]
    if beats.size < MIN_SOURCE_BEATS:
        raise ParameterError(
            f"source_beat_times_s has {beats.size} beats inside the song; at least {MIN_SOURCE_BEATS} are needed "
            "(is the song very short, or did beat tracking fail?)"
        )
    return beats


def repair_beats(beat_times_s: np.ndarray, *, max_ratio: float = 1.6) -> np.ndarray:
    """Fill single missed beats and drop spurious extra ones in a tracked beat list.

    An interval more than ``max_ratio`` x the local median gets evenly spaced beats inserted; a beat
    closer than 1 / ``max_ratio`` of it to the previous one is dropped. Without this, one tracking slip
    would ask the stretcher for a 2x local rate in that segment.

    >>> repair_beats(np.array([0.0, 0.5, 1.0, 2.0, 2.5, 2.6, 3.0])).tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    """
    beats = np.asarray(beat_times_s, dtype=float)
    if beats.size < 4:
        return beats
    ibi = np.diff(beats)
    local = np.array([np.median(ibi[max(0, i - 4):i + 5]) for i in range(ibi.size)])
    out = [beats[0]]
    for b, gap, ref in zip(beats[1:], ibi, local, strict=True):
        gap = b - out[-1]
        if gap < ref / max_ratio:
            continue
        if gap > max_ratio * ref:
            n = int(round(gap / ref))
            out.extend(out[-1] + gap * np.arange(1, n) / n)
        out.append(b)
    return np.asarray(out)


def choose_beat_level(beat_times_s: np.ndarray, *, tempo_bpm: float) -> tuple[np.ndarray, float]:
    """The metrical level (beats, half-time or double-time) whose tempo is nearest ``tempo_bpm``.

    Walking at 100 steps/min to a 160 BPM song needs either a 37 % slow-down or, on every other beat,
    a 25 % speed-up; the smaller change sounds more natural. Returns (beats, level) with level 0.5, 1
    or 2 (beats per original beat).

    >>> b, level = choose_beat_level(np.arange(0, 10, 0.375), tempo_bpm=100)  # a 160 BPM song
    >>> level, round(60 / float(np.median(np.diff(b))), 1)
    (0.5, 80.0)
    """
    beats = np.asarray(beat_times_s, dtype=float)
    if beats.size < 4:
        return beats, 1.0
    song_bpm = 60.0 / float(np.median(np.diff(beats)))
    half = beats[::2]
    double = np.sort(np.concatenate([beats, (beats[1:] + beats[:-1]) / 2]))
    options = [(beats, 1.0, song_bpm), (half, 0.5, song_bpm / 2), (double, 2.0, song_bpm * 2)]
    best = min(options, key=lambda o: abs(np.log(tempo_bpm / o[2])))
    return best[0], best[1]


def loop_song(
    samples: np.ndarray, beat_times_s: np.ndarray, *, sampling_rate_hz: int, min_duration_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat the song from its first beat until at least ``min_duration_s`` is covered.

    Each repeat starts one median beat period after the previous copy's last beat, so the beat grid
    continues unbroken across the seam. Returns (samples, beat times in the looped signal).
    """
    n = samples.shape[-1]
    if n / sampling_rate_hz >= min_duration_s:
        return samples, beat_times_s
    ibi = float(np.median(np.diff(beat_times_s)))
    # Each copy ends one beat period after its last beat; beats too close to the song's end for that
    # are dropped, otherwise the seam would make a short beat.
    beat_times_s = beat_times_s[beat_times_s + ibi <= n / sampling_rate_hz]
    if beat_times_s.size < MIN_SOURCE_BEATS:
        raise ParameterError("the song is too short to loop: fewer than 4 beats fit before its end")
    first = int(round(beat_times_s[0] * sampling_rate_hz))
    end = int(round((beat_times_s[-1] + ibi) * sampling_rate_hz))
    body = samples[..., first:end].copy()
    fade = min(int(SEAM_FADE_S * sampling_rate_hz), body.shape[-1] // 4)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    body[..., :fade] *= ramp
    body[..., body.shape[-1] - fade:] *= ramp[::-1]
    period_n = body.shape[-1]
    body_beats = beat_times_s - beat_times_s[0]
    pieces, beats = [samples[..., :end]], [beat_times_s]
    total = end
    while total / sampling_rate_hz < min_duration_s:
        pieces.append(body)
        beats.append(total / sampling_rate_hz + body_beats)
        total += period_n
    head = pieces[0].copy()
    head[..., end - fade:end] *= ramp[::-1]
    pieces[0] = head
    return np.concatenate(pieces, axis=-1), np.concatenate(beats)


def warp_music_to_tempo(
    samples: np.ndarray,
    *,
    sampling_rate_hz: int,
    source_beat_times_s: np.ndarray,
    tempo_bpm: float | None = None,
    knot_times_s: np.ndarray | None = None,
    knot_tempi_bpm: np.ndarray | None = None,
    duration_s: float | None = None,
    method: str = "wsola",
    stretcher=None,
) -> WarpedMusic:
    """Stretch ``samples`` so that source beat ``k`` sounds on target beat ``k``.

    The target grid is a constant ``tempo_bpm`` or a tempo curve (``knot_times_s``,
    ``knot_tempi_bpm``; see :func:`cadenza.render.clicks.tempo_curve_beat_times_s`). The lead-in before
    the first beat is stretched at the first segment's rate. ``duration_s`` (default: the song's own
    stretched length) longer than the song loops it. ``stretcher`` overrides ``method`` with any object
    that has ``stretch(samples, *, sampling_rate_hz, time_map, duration_s)`` returning itself with
    ``samples_`` (e.g. an external-tool backend that the command line supplies).
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim not in (1, 2) or samples.shape[-1] == 0:
        raise ParameterError(f"samples must be non-empty (n,) or (channels, n), got shape {samples.shape!r}")
    song_s = samples.shape[-1] / sampling_rate_hz
    beats = _validated_beats(source_beat_times_s, song_s)
    if (tempo_bpm is None) == (knot_tempi_bpm is None):
        raise ParameterError("give exactly one of tempo_bpm or knot_tempi_bpm (with knot_times_s)")
    if tempo_bpm is not None:
        knot_times_s, knot_tempi_bpm = np.array([0.0]), np.array([float(tempo_bpm)])
    knot_times_s = np.zeros(1) if knot_times_s is None else np.asarray(knot_times_s, dtype=float)
    knot_tempi_bpm = np.asarray(knot_tempi_bpm, dtype=float)
    if duration_s is not None and (not np.isfinite(duration_s) or duration_s <= 0):
        raise ParameterError(f"duration_s must be > 0 seconds, got {duration_s!r}")

    src_ibi = float(np.median(np.diff(beats)))
    first_rate = src_ibi / (60.0 / knot_tempi_bpm[0])
    first_out_s = beats[0] / first_rate
    # Loop enough source to cover the request at the slowest target tempo (with one beat spare).
    if duration_s is not None:
        need_beats = duration_s * knot_tempi_bpm.max() / 60.0 + 2
        x, src_beats = loop_song(samples, beats, sampling_rate_hz=sampling_rate_hz,
                                 min_duration_s=beats[0] + need_beats * src_ibi)
    else:
        x, src_beats = samples, beats
    horizon_s = 1e9 if duration_s is None else duration_s + 10 * 60.0 / knot_tempi_bpm.min()
    grid = tempo_curve_beat_times_s(knot_times_s, knot_tempi_bpm, duration_s=horizon_s, first_beat_s=first_out_s) \
        if duration_s is not None else _grid_for_beats(knot_times_s, knot_tempi_bpm, first_out_s, src_beats.size)
    k = min(grid.size, src_beats.size)
    src_beats, grid = src_beats[:k], grid[:k]
    # Anchor the start (time 0 maps to time 0 scaled) so the lead-in keeps the first segment's rate.
    time_map = beat_time_map(np.concatenate([[0.0], src_beats]) if src_beats[0] > 0 else src_beats,
                             np.concatenate([[0.0], grid]) if src_beats[0] > 0 else grid)
    if duration_s is None:
        duration_s = float(time_map.out_time_s(np.array([x.shape[-1] / sampling_rate_hz]))[0])
    engine = make_stretcher(method) if stretcher is None else stretcher
    stretcher = engine.stretch(x, sampling_rate_hz=sampling_rate_hz, time_map=time_map, duration_s=duration_s)
    rates = np.diff(time_map.in_times_s) / np.diff(time_map.out_times_s)
    keep = grid < duration_s
    return WarpedMusic(samples=stretcher.samples_, sampling_rate_hz=int(sampling_rate_hz),
                       target_beat_times_s=grid[keep], source_beat_times_s=src_beats[keep], source_samples=x,
                       time_map=time_map, rate_min=float(rates.min()), rate_max=float(rates.max()))


def _grid_for_beats(knot_times_s: np.ndarray, knot_tempi_bpm: np.ndarray, first_s: float, n_beats: int) -> np.ndarray:
    horizon = first_s + (n_beats + 2) * 60.0 / knot_tempi_bpm.min()
    return tempo_curve_beat_times_s(knot_times_s, knot_tempi_bpm, duration_s=horizon, first_beat_s=first_s)[:n_beats]


def _flux_envelope(x: np.ndarray, sampling_rate_hz: int) -> tuple[np.ndarray, float]:
    """Half-wave rectified log-spectral flux on a ~1.5 ms hop; returns (envelope, frame rate)."""
    x = x if x.ndim == 1 else x.mean(axis=0)
    hop = max(int(round(ENVELOPE_HOP_S * sampling_rate_hz)), 1)
    n_fft = 8 * hop
    n_frames = max((x.size - n_fft) // hop + 1, 0)
    if n_frames == 0:
        return np.zeros(0), sampling_rate_hz / hop
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n_frames]
    mag = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1))
    logm = np.log1p(100.0 * mag)
    flux = np.maximum(np.diff(logm, axis=0), 0).sum(axis=1)
    # Centre of the difference between frames i and i+1 is at (i + 1) * hop + n_fft/2 - hop/2.
    env = np.concatenate([[0.0], flux])
    width = max(int(round(ENVELOPE_SMOOTH_S / ENVELOPE_HOP_S)), 1)
    env = np.convolve(env, np.ones(width) / width, mode="same")
    return env, sampling_rate_hz / hop


def _sliding_pearson(seg: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``ref`` with every same-length window of ``seg``."""
    m = ref.size
    r0 = ref - ref.mean()
    num = np.correlate(seg, r0, mode="valid")
    c1 = np.concatenate([[0.0], np.cumsum(seg)])
    c2 = np.concatenate([[0.0], np.cumsum(seg * seg)])
    s1, s2 = c1[m:] - c1[:-m], c2[m:] - c2[:-m]
    var = np.maximum(s2 - s1 * s1 / m, 0.0)
    den = np.sqrt(var * float(r0 @ r0)) + 1e-12
    return num / den


def measure_beat_placement_error_s(
    source: np.ndarray,
    output: np.ndarray,
    *,
    sampling_rate_hz: int,
    source_beat_times_s: np.ndarray,
    target_beat_times_s: np.ndarray,
) -> np.ndarray:
    """Where each source beat actually sounds in ``output``, minus where it was meant to (seconds).

    The onset envelope around each source beat is warped onto the output's time scale and slid
    against the output's envelope; the best lag is the placement error (positive = late). This
    reads the audio itself, so it checks the stretcher rather than trusting its time map. Beats with
    no clear onset within +-40 ms in the source (a held chord, a rest) or no clear alignment
    (correlation < 0.3, or a peak at the +-60 ms search limit) give NaN; callers report how many.
    """
    src = np.asarray(source_beat_times_s, dtype=float)
    tgt = np.asarray(target_beat_times_s, dtype=float)
    if src.shape != tgt.shape or src.ndim != 1:
        raise ParameterError(f"source and target beat arrays must match in shape, got {src.shape!r}, {tgt.shape!r}")
    env_in, fr = _flux_envelope(np.asarray(source, dtype=float), sampling_rate_hz)
    env_out, _ = _flux_envelope(np.asarray(output, dtype=float), sampling_rate_hz)
    t_in = np.arange(env_in.size) / fr
    half = int(ALIGN_HALF_WINDOW_S * fr)
    max_lag = int(ALIGN_MAX_LAG_S * fr)
    u = np.arange(-half, half + 1) / fr
    errors = np.full(src.size, np.nan)
    strong = ONSET_STRENGTH_FRACTION * float(np.percentile(env_in, 99)) if env_in.size else np.inf
    for k in range(src.size):
        lo = src[k - 1] if k > 0 else src[k] - (src[1] - src[0] if src.size > 1 else 0.5)
        hi = src[k + 1] if k + 1 < src.size else src[k] + (src[k] - src[k - 1] if k > 0 else 0.5)
        t_lo = tgt[k - 1] if k > 0 else tgt[k] - (tgt[1] - tgt[0] if tgt.size > 1 else 0.5)
        t_hi = tgt[k + 1] if k + 1 < tgt.size else tgt[k] + (tgt[k] - tgt[k - 1] if k > 0 else 0.5)
        # Local piecewise-linear warp around beat k: output offset u -> source time.
        slope = np.where(u < 0, (src[k] - lo) / (tgt[k] - t_lo), (hi - src[k]) / (t_hi - tgt[k]))
        ref = np.interp(src[k] + u * slope, t_in, env_in, left=0.0, right=0.0)
        centre = int(round(tgt[k] * fr))
        a, b = centre - half - max_lag, centre + half + max_lag + 1
        if a < 0 or b > env_out.size or not np.any(ref):
            continue
        near = (t_in > src[k] - ONSET_NEAR_BEAT_S) & (t_in < src[k] + ONSET_NEAR_BEAT_S)
        if not near.any() or env_in[near].max() < strong:
            continue  # no onset on this beat (a held note or a rest): nothing to align
        seg = env_out[a:b]
        r = _sliding_pearson(seg, ref)
        best = int(np.argmax(r))
        # A weak or edge-of-range peak means the neighbourhood has no clear onset (a held chord, a
        # rest): report it as unmeasured rather than as a large error.
        if r[best] >= MIN_ALIGNMENT_R and 0 < best < r.size - 1:
            errors[k] = (best - max_lag) / fr
    return errors


def verify_with_beat_tracker(
    output: np.ndarray, *, sampling_rate_hz: int, target_beat_times_s: np.ndarray, max_check_s: float = 120.0
) -> dict:
    """Re-detect beats in ``output`` (``cadenza.music.beats.track_beats``) and compare them with the grid.

    A tracker may report the song at another metrical level than the steps (every other beat, or the
    half beats), so the detected beats are compared with the step grid, its half-beat grid and both
    every-other-beat grids, and the best-matching level is reported. Only detected beats within a
    quarter period of a grid beat count as matches (an off-beat tracker shows up in
    ``matched_fraction``, not as a huge timing error).
    """
    from cadenza.music.beats import track_beats

    y = np.asarray(output, dtype=np.float32)
    y = y if y.ndim == 1 else y.mean(axis=0)
    n = min(y.size, int(max_check_s * sampling_rate_hz))
    track = track_beats(y[:n], sampling_rate_hz=sampling_rate_hz)
    tgt = np.asarray(target_beat_times_s, dtype=float)
    tgt = tgt[tgt < n / sampling_rate_hz]
    det = np.asarray(track.beat_times_s, dtype=float)
    empty = {"checked_s": n / sampling_rate_hz, "n_detected": int(det.size), "matched_fraction": 0.0,
             "median_error_ms": float("nan"), "max_error_ms": float("nan"), "level": 1.0}
    if det.size == 0 or tgt.size < 4:
        return empty
    grids = {1.0: tgt, 2.0: np.sort(np.concatenate([tgt, (tgt[1:] + tgt[:-1]) / 2])),
             0.5: tgt[::2], -0.5: tgt[1::2]}
    best = None
    for level, grid in grids.items():
        idx = np.clip(np.searchsorted(grid, det), 1, grid.size - 1)
        nearest = np.where(np.abs(det - grid[idx - 1]) <= np.abs(det - grid[idx]), grid[idx - 1], grid[idx])
        err = det - nearest
        ok = np.abs(err) <= 0.25 * float(np.median(np.diff(grid)))
        # Every detected beat should be on this grid, and the grid should not be much denser than the detections.
        coverage = min(1.0, det.size / max(grid.size, 1))
        score = (float(ok.mean()) * coverage, -float(np.median(np.abs(err[ok]))) if ok.any() else -np.inf)
        if best is None or score > best[0]:
            best = (score, abs(level), ok, err)
    _, level, ok, err = best
    matched = err[ok]
    return {
        "checked_s": n / sampling_rate_hz,
        "n_detected": int(det.size),
        "matched_fraction": float(ok.mean()),
        "median_error_ms": float(np.median(np.abs(matched)) * 1e3) if matched.size else float("nan"),
        "max_error_ms": float(np.max(np.abs(matched)) * 1e3) if matched.size else float("nan"),
        "level": level,
    }

MARKER_FREQ_HZ = 5000.0
MARKER_WIDTH_S = 0.0006  # Gaussian envelope sigma: a ~2 ms tick, far shorter than any timing error that matters


def _marker(sampling_rate_hz: int) -> np.ndarray:
    half = int(4 * MARKER_WIDTH_S * sampling_rate_hz)
    t = np.arange(-half, half + 1) / sampling_rate_hz
    freq = min(MARKER_FREQ_HZ, 0.4 * sampling_rate_hz)
    return (np.exp(-0.5 * (t / MARKER_WIDTH_S) ** 2) * np.cos(2 * np.pi * freq * t)).astype(np.float32)


def add_beat_markers(samples: np.ndarray, beat_times_s: np.ndarray, *, sampling_rate_hz: int,
                     level: float = 0.5) -> np.ndarray:
    """Mono copy of ``samples`` with a short 5 kHz tick centred on every beat (a percussive beat
    event whose landing time in a stretched output can be read to a fraction of a millisecond)."""
    x = np.asarray(samples, dtype=np.float32)
    x = (x if x.ndim == 1 else x.mean(axis=0)).copy()
    tick = level * _marker(sampling_rate_hz)
    half = tick.size // 2
    for c in np.rint(np.asarray(beat_times_s) * sampling_rate_hz).astype(np.int64):
        a, b = c - half, c + half + 1
        if a >= 0 and b <= x.size:
            x[a:b] += tick
    return x


def find_marker_error_s(output: np.ndarray, target_beat_times_s: np.ndarray, *, sampling_rate_hz: int,
                        search_s: float = ALIGN_MAX_LAG_S) -> np.ndarray:
    """Where each tick of :func:`add_beat_markers` landed in ``output`` minus its target time (s)."""
    y = np.asarray(output, dtype=np.float64)
    y = y if y.ndim == 1 else y.mean(axis=0)
    tick = _marker(sampling_rate_hz).astype(np.float64)
    half = tick.size // 2
    reach = int(search_s * sampling_rate_hz)
    errors = np.full(len(target_beat_times_s), np.nan)
    for k, t in enumerate(np.asarray(target_beat_times_s)):
        c = int(round(t * sampling_rate_hz))
        a, b = c - reach - half, c + reach + half + 1
        if a < 0 or b > y.size:
            continue
        score = np.abs(np.correlate(y[a:b], tick, mode="valid"))  # matched filter, one value per lag
        # Envelope of the matched-filter output (the tick is a modulated pulse): smooth over a carrier period.
        period = max(int(sampling_rate_hz / min(MARKER_FREQ_HZ, 0.4 * sampling_rate_hz)), 1)
        score = np.convolve(score, np.ones(period) / period, mode="same")
        errors[k] = (int(np.argmax(score)) - reach) / sampling_rate_hz
    return errors
