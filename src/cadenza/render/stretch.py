"""Time-stretching along a time map, without drift.

A :class:`TimeMap` says, for every output instant, which input instant should sound there. A constant
rate is a straight line; beat-synchronous time-warping is a piecewise-linear line through
(target beat, source beat) pairs, so every inter-beat segment is stretched to its own target period and
the song's beats land on the target grid even when its tempo drifts.

Both stretchers place every output frame from the map directly (an absolute position, never a sum of
rounded hops), so rounding cannot accumulate into drift, which is the failure measured in integer-hop
WSOLA implementations (``../shared/research/dependencies.md`` section 2).

* :class:`WsolaStretcher` -- waveform-similarity overlap-add (Verhelst & Roelands 1993, ICASSP,
  doi:10.1109/ICASSP.1993.319366): each frame is taken from near the mapped input position, shifted
  within a small tolerance to the position most similar to the natural continuation of the previous
  frame. Sharp attacks, no phasiness; timing error bounded by the tolerance.
* :class:`PhaseVocoderStretcher` -- STFT phase vocoder (Flanagan & Golden 1966; Laroche & Dolson
  1999) with frames read at arbitrary mapped positions. Exact timing, softer transients.

Both are permissive (this project's own code on numpy, plus librosa's STFT for the vocoder). Rubber
Band, the field's reference, is GPL and is therefore never part of the core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

MAX_RATE_CHANGE = 4.0  # a local stretch beyond x4 / x0.25 is almost certainly a beat-detection error


@dataclass(frozen=True)
class TimeMap:
    """Piecewise-linear map from output time to input time (both strictly increasing anchors).

    Outside the anchors the first and last segments are extended linearly.

    >>> m = TimeMap(out_times_s=np.array([0.0, 1.0, 3.0]), in_times_s=np.array([0.0, 1.1, 3.1]))
    >>> m.in_time_s(np.array([0.5, 2.0, 4.0])).tolist()
    [0.55, 2.1, 4.1]
    """

    out_times_s: np.ndarray
    in_times_s: np.ndarray

    def __post_init__(self) -> None:
        o = np.asarray(self.out_times_s, dtype=float)
        i = np.asarray(self.in_times_s, dtype=float)
        if o.ndim != 1 or o.shape != i.shape or o.size < 2:
            raise ParameterError(
                f"out_times_s and in_times_s must be 1-D of equal length >= 2, got {o.shape!r} and {i.shape!r}"
            )
        if not (np.all(np.isfinite(o)) and np.all(np.isfinite(i))):
            raise ParameterError("time-map anchors must be finite")
        if np.any(np.diff(o) <= 0) or np.any(np.diff(i) <= 0):
            raise ParameterError("time-map anchors must be strictly increasing in both output and input time")
        slopes = np.diff(i) / np.diff(o)
        if np.any(slopes > MAX_RATE_CHANGE) or np.any(slopes < 1 / MAX_RATE_CHANGE):
            raise ParameterError(
                f"time map asks for a local rate of {slopes.min():.3g}..{slopes.max():.3g}; "
                f"allowed {1 / MAX_RATE_CHANGE:g}..{MAX_RATE_CHANGE:g} (are the beat lists mismatched?)"
            )
        object.__setattr__(self, "out_times_s", o)
        object.__setattr__(self, "in_times_s", i)

    def in_time_s(self, out_times_s: np.ndarray) -> np.ndarray:
        t = np.asarray(out_times_s, dtype=float)
        o, i = self.out_times_s, self.in_times_s
        y = np.interp(t, o, i)
        lo, hi = t < o[0], t > o[-1]
        y[lo] = i[0] + (t[lo] - o[0]) * (i[1] - i[0]) / (o[1] - o[0])
        y[hi] = i[-1] + (t[hi] - o[-1]) * (i[-1] - i[-2]) / (o[-1] - o[-2])
        return y

    def out_time_s(self, in_times_s: np.ndarray) -> np.ndarray:
        """The inverse map (input time to output time)."""
        return TimeMap(out_times_s=self.in_times_s, in_times_s=self.out_times_s).in_time_s(in_times_s)


def constant_rate_time_map(*, rate: float) -> TimeMap:
    """``rate`` > 1 plays faster (shorter output), like librosa's ``time_stretch``.

    >>> constant_rate_time_map(rate=1.25).in_time_s(np.array([2.0])).tolist()
    [2.5]
    """
    if not np.isfinite(rate) or not 1 / MAX_RATE_CHANGE <= rate <= MAX_RATE_CHANGE:
        raise ParameterError(f"rate must be between {1 / MAX_RATE_CHANGE:g} and {MAX_RATE_CHANGE:g}, got {rate!r}")
    return TimeMap(out_times_s=np.array([0.0, 1.0]), in_times_s=np.array([0.0, float(rate)]))


def beat_time_map(source_beat_times_s: np.ndarray, target_beat_times_s: np.ndarray) -> TimeMap:
    """Beat-synchronous map: target beat ``k`` plays source beat ``k``; linear in between."""
    src = np.asarray(source_beat_times_s, dtype=float)
    tgt = np.asarray(target_beat_times_s, dtype=float)
    if src.shape != tgt.shape or src.ndim != 1 or src.size < 2:
        raise ParameterError(
            f"source_beat_times_s and target_beat_times_s must be 1-D of equal length >= 2, "
            f"got {src.shape!r} and {tgt.shape!r}"
        )
    return TimeMap(out_times_s=tgt, in_times_s=src)


def _check_input(samples: np.ndarray, sampling_rate_hz: int) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim not in (1, 2):
        raise ParameterError(f"samples must be (n,) or (channels, n), got shape {samples.shape!r}")
    if not np.all(np.isfinite(samples)):
        raise ParameterError("samples contain NaN or infinite values")
    if not np.isfinite(sampling_rate_hz) or not 4_000 <= sampling_rate_hz <= 384_000:
        raise ParameterError(f"sampling_rate_hz must be between 4000 and 384000 Hz, got {sampling_rate_hz!r}")
    return samples


def _output_samples(time_map: TimeMap, n_in: int, sampling_rate_hz: int, duration_s: float | None) -> int:
    if duration_s is None:
        duration_s = float(time_map.out_time_s(np.array([n_in / sampling_rate_hz]))[0])
    if not np.isfinite(duration_s) or duration_s < 0:
        raise ParameterError(f"duration_s must be >= 0, got {duration_s!r}")
    return int(round(duration_s * sampling_rate_hz))


class WsolaStretcher:
    """WSOLA along a time map. ``frame_s`` is the analysis/synthesis frame (50 % overlap, Hann);
    ``tolerance_s`` bounds how far a frame may move from its mapped position to find a seamless join.

    After :meth:`stretch`, ``samples_`` holds the output and ``frame_error_s_`` the signed deviation
    of every frame from its mapped input position (in input seconds).
    """

    name = "wsola"

    def __init__(self, *, frame_s: float = 0.046, tolerance_s: float = 0.006, centre_weight: float = 0.1) -> None:
        if not 0.005 <= frame_s <= 0.2:
            raise ParameterError(f"frame_s must be 0.005..0.2 s, got {frame_s!r}")
        if not 0 <= tolerance_s <= frame_s / 2:
            raise ParameterError(f"tolerance_s must be between 0 and frame_s/2, got {tolerance_s!r}")
        if not 0 <= centre_weight <= 10:
            raise ParameterError(f"centre_weight must be between 0 and 10, got {centre_weight!r}")
        self.frame_s = frame_s
        self.tolerance_s = tolerance_s
        self.centre_weight = centre_weight

    def stretch(
        self, samples: np.ndarray, *, sampling_rate_hz: int, time_map: TimeMap, duration_s: float | None = None
    ) -> WsolaStretcher:
        samples = _check_input(samples, sampling_rate_hz)
        multi = samples.ndim == 2
        x = samples if multi else samples[None, :]
        n_in = x.shape[-1]
        n_out = _output_samples(time_map, n_in, sampling_rate_hz, duration_s)
        frame = 2 * max(int(round(self.frame_s * sampling_rate_hz / 2)), 8)
        hop = frame // 2
        tol = int(round(self.tolerance_s * sampling_rate_hz))
        window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)).astype(np.float32)  # periodic Hann
        n_frames = n_out // hop + 2
        centres_out = np.arange(n_frames) * hop
        # Absolute mapped input start of each frame: rounding here never accumulates.
        wanted = np.rint(time_map.in_time_s(centres_out / sampling_rate_hz) * sampling_rate_hz).astype(np.int64) - hop
        pad = frame + 2 * tol + 2 * hop
        xp = np.pad(x, ((0, 0), (pad, pad)))
        guide = xp.mean(axis=0)  # similarity is judged on the channel mix
        wanted = np.clip(wanted, -pad + tol, n_in + pad - frame - tol - 1) + pad
        y = np.zeros((x.shape[0], n_frames * hop + frame), dtype=np.float32)
        chosen = np.empty(n_frames, dtype=np.int64)
        offsets_sq = (np.arange(-tol, tol + 1) / max(tol, 1)) ** 2
        prev = None
        for k in range(n_frames):
            start = int(wanted[k])
            if prev is not None and tol > 0:
                natural = prev + hop
                template = guide[natural:natural + frame]
                region = guide[start - tol:start + tol + frame]
                score = np.correlate(region, template, mode="valid")
                csum = np.concatenate([[0.0], np.cumsum(region.astype(np.float64) ** 2)])
                energy = csum[frame:] - csum[:-frame]
                norm = np.sqrt(energy * float(template @ template)) + 1e-12
                # Normalised similarity, so louder candidates are not preferred, minus a small pull
                # towards the mapped position so the offset does not wander across the tolerance.
                score = score / norm - self.centre_weight * offsets_sq
                if np.any(energy > 0):
                    start = start - tol + int(np.argmax(score))
            chosen[k] = start
            prev = start
            out0 = k * hop
            y[:, out0:out0 + frame] += window * xp[:, start:start + frame]
        # Frame k is centred on output sample k*hop, so the output starts half a frame in.
        out = y[:, hop:hop + n_out]
        self.frame_error_s_ = (chosen - wanted) / sampling_rate_hz
        self.samples_ = out if multi else out[0]
        return self


class PhaseVocoderStretcher:
    """Phase vocoder along a time map (librosa STFT; frames at mapped fractional positions)."""

    name = "phase_vocoder"

    def __init__(self, *, frame_s: float = 0.046, hop_fraction: float = 0.25) -> None:
        if not 0.01 <= frame_s <= 0.5:
            raise ParameterError(f"frame_s must be 0.01..0.5 s, got {frame_s!r}")
        if hop_fraction not in (0.125, 0.25, 0.5):
            raise ParameterError(f"hop_fraction must be 0.125, 0.25 or 0.5, got {hop_fraction!r}")
        self.frame_s = frame_s
        self.hop_fraction = hop_fraction

    def stretch(
        self, samples: np.ndarray, *, sampling_rate_hz: int, time_map: TimeMap, duration_s: float | None = None
    ) -> PhaseVocoderStretcher:
        import librosa

        samples = _check_input(samples, sampling_rate_hz)
        multi = samples.ndim == 2
        x = samples if multi else samples[None, :]
        n_out = _output_samples(time_map, x.shape[-1], sampling_rate_hz, duration_s)
        n_fft = int(2 ** np.round(np.log2(self.frame_s * sampling_rate_hz)))
        hop = int(n_fft * self.hop_fraction)
        n_frames_out = n_out // hop + 1
        # Fractional input frame for each output frame (librosa frames are centred on k*hop).
        steps = np.round(time_map.in_time_s(np.arange(n_frames_out) * hop / sampling_rate_hz) * sampling_rate_hz / hop, 9)
        channels = []
        for ch in x:
            spec = librosa.stft(ch, n_fft=n_fft, hop_length=hop)
            channels.append(librosa.istft(_vocode(spec, steps, hop, n_fft), hop_length=hop, n_fft=n_fft, length=n_out))
        out = np.asarray(channels, dtype=np.float32)
        self.samples_ = out if multi else out[0]
        return self


def _vocode(spec: np.ndarray, steps: np.ndarray, hop: int, n_fft: int) -> np.ndarray:
    """Resample STFT ``spec`` at fractional frame positions ``steps``, accumulating phase advances."""
    n_bins, n_frames = spec.shape
    padded = np.pad(spec, ((0, 0), (0, 2)))
    steps = np.clip(steps, 0, n_frames - 1)
    expected = np.linspace(0, np.pi * hop, n_bins)  # phase advance per hop at each bin centre
    out = np.empty((n_bins, steps.size), dtype=spec.dtype)
    phase = np.angle(padded[:, int(steps[0])]) if steps.size else None
    for j, step in enumerate(steps):
        i = int(step)
        frac = step - i
        a, b = padded[:, i], padded[:, i + 1]
        mag = (1 - frac) * np.abs(a) + frac * np.abs(b)
        out[:, j] = mag * np.exp(1j * phase)
        delta = np.angle(b) - np.angle(a) - expected
        delta -= 2 * np.pi * np.round(delta / (2 * np.pi))
        phase = phase + expected + delta
    return out


STRETCHERS = {"wsola": WsolaStretcher, "phase_vocoder": PhaseVocoderStretcher}


def make_stretcher(method: str = "wsola"):
    """A stretcher by name: ``"wsola"`` (default) or ``"phase_vocoder"``."""
    if method not in STRETCHERS:
        raise ParameterError(f"method must be one of {sorted(STRETCHERS)}, got {method!r}")
    return STRETCHERS[method]()


def time_stretch(samples: np.ndarray, *, sampling_rate_hz: int, rate: float, method: str = "wsola") -> np.ndarray:
    """Constant-rate stretch; ``rate`` > 1 is faster. Output length is ``round(n / rate)``.

    >>> y = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    >>> time_stretch(y, sampling_rate_hz=8000, rate=0.8).shape
    (10000,)
    """
    stretcher = make_stretcher(method)
    return stretcher.stretch(samples, sampling_rate_hz=sampling_rate_hz,
                             time_map=constant_rate_time_map(rate=rate)).samples_
