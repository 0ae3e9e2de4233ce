"""Synchronisation of one block of hits to a cue: asynchrony, variability, phase, error correction.

From the per-beat asynchronies of :func:`cadenza.timing.align.align_to_cue` (ms, NaN for missed beats):

* **mean asynchrony** (ms; negative = ahead of the beat) and its **SD** (ms). Healthy adults tapping to
  a metronome run 20-80 ms ahead, typically 30-50 ms, with SDs of 20-40 ms at 500-800 ms intervals
  (Repp 2005, Psychon Bull Rev 12:969; Repp & Su 2013, Psychon Bull Rev 20:403).
* **circular R**: the resultant length of the relative phases 2 pi x asynchrony / inter-beat interval,
  1 when every hit has the same phase, near 0 when hits bear no relation to the beat (Fisher 1993,
  *Statistical analysis of circular data*; as in :mod:`cadenza.ras.sync` for steps).
* **phase-correction gain** alpha: the slope of the regression of A(n+1) - A(n) on A(n), negated
  (the first-order linear correction model A(n+1) = (1 - alpha) A(n) + noise; Repp 2005 section 4;
  Repp & Keller 2004, Q J Exp Psychol 57A:499). Healthy tappers show alpha near 0.4 at moderate tempi
  (0.2-0.6). This lag-1 estimate is biased by motor noise (Vorberg & Wing 1996); the bounded GLS of
  Jacoby et al. (2015, J Math Psychol 68:7) is less biased but needs longer blocks. Only pairs of
  consecutive beats that were both hit are used; at least :data:`MIN_PAIRS` are needed.
* **share within +-w ms** (%) for the bands w = 15, 30 and 50 ms (the ms-from-the-beat feedback of
  rhythm trainers; the bands are configurable).

Each comes with a percentile **bootstrap 95 % CI** (Efron & Tibshirani 1993) over the matched hits
(over consecutive pairs for alpha), from a seeded generator, so the same block always gives the same
interval. Hits are resampled independently, which ignores their serial correlation: the intervals are
somewhat narrow for strongly drifting blocks.

>>> block = measure_block([-40.0, -30.0, -50.0, -40.0, np.nan, -35.0], cue_interval_s=0.6)
>>> round(block.mean_asynchrony_ms.value, 6), block.within_pct[50.0].value, block.n_hits
(-39.0, 100.0, 5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

DEFAULT_WINDOWS_MS = (15.0, 30.0, 50.0)
DEFAULT_N_BOOTSTRAP = 2000
MIN_PAIRS = 5
CI_LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A value with its bootstrap 95 % confidence interval (NaN where there are too few hits)."""

    value: float
    ci_low: float
    ci_high: float

    def to_dict(self, digits: int = 3) -> dict:
        def clean(v: float) -> float | None:
            return round(float(v), digits) if np.isfinite(v) else None

        return {"value": clean(self.value), "ci95": [clean(self.ci_low), clean(self.ci_high)]}


@dataclass(frozen=True)
class BlockMetrics:
    """Synchronisation figures of one block (see the module docstring)."""

    n_beats: int
    n_hits: int  # beats with a hit
    mean_asynchrony_ms: Estimate
    sd_asynchrony_ms: Estimate
    circular_r: Estimate
    mean_phase_deg: float
    phase_correction_gain: Estimate
    within_pct: dict[float, Estimate]

    def to_dict(self) -> dict:
        mean_phase = round(self.mean_phase_deg, 2) if np.isfinite(self.mean_phase_deg) else None
        return {
            "n_beats": self.n_beats,
            "n_hits": self.n_hits,
            "mean_asynchrony_ms": self.mean_asynchrony_ms.to_dict(2),
            "sd_asynchrony_ms": self.sd_asynchrony_ms.to_dict(2),
            "circular_r": self.circular_r.to_dict(4),
            "mean_phase_deg": mean_phase,
            "phase_correction_gain": self.phase_correction_gain.to_dict(3),
            "within_pct": {f"{w:g}": e.to_dict(1) for w, e in self.within_pct.items()},
        }


def _check_windows(windows_ms: Sequence[float]) -> tuple[float, ...]:
    try:
        windows = tuple(float(w) for w in windows_ms)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"windows_ms must be numbers (ms), got {windows_ms!r}") from exc
    if not windows or not all(np.isfinite(w) and 0 < w <= 1000 for w in windows):
        raise ParameterError(f"windows_ms must be one or more numbers in (0, 1000] ms, got {windows_ms!r}")
    return windows


def _resultant(phase_rad: np.ndarray) -> np.ndarray:
    return np.abs(np.mean(np.exp(1j * phase_rad), axis=-1))


def _gain(previous: np.ndarray, following: np.ndarray) -> np.ndarray:
    """-slope of (following - previous) on previous, along the last axis (NaN where previous is constant)."""
    dx = previous - previous.mean(axis=-1, keepdims=True)
    dy = following - previous
    dy = dy - dy.mean(axis=-1, keepdims=True)
    sxx = np.sum(dx * dx, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sxx > 1e-12, -np.sum(dx * dy, axis=-1) / np.where(sxx > 1e-12, sxx, 1.0), np.nan)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    tail = (1 - CI_LEVEL) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def measure_block(asynchrony_ms: Sequence[float] | np.ndarray, *, cue_interval_s: float | Sequence[float] | np.ndarray,
                  windows_ms: Sequence[float] = DEFAULT_WINDOWS_MS, n_bootstrap: int = DEFAULT_N_BOOTSTRAP,
                  rng: int | np.random.Generator = 0) -> BlockMetrics:
    """Synchronisation figures of one block from its per-beat asynchronies (ms, NaN = missed beat, in
    beat order) and the inter-beat interval (s; one number, or one per beat).

    ``rng`` seeds the bootstrap (an int or a Generator). A block with no hits gives NaN figures.

    >>> measure_block([np.nan, np.nan], cue_interval_s=0.5).circular_r.value
    nan
    >>> measure_block([10.0], cue_interval_s=500)
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: cue_interval_s must be in (0.05, 10] seconds (not ms), got a value of 500.0
    """
    try:
        asyn = np.asarray(asynchrony_ms, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"asynchrony_ms must be numbers (ms, NaN for a missed beat), got {asynchrony_ms!r:.80}") from exc
    if asyn.ndim != 1:
        raise ParameterError(f"asynchrony_ms must be 1-D (one value per beat), got shape {asyn.shape!r}")
    if np.any(np.isinf(asyn)):
        raise ParameterError("asynchrony_ms must be finite or NaN (a missed beat), got an infinite value")
    interval = np.broadcast_to(np.asarray(cue_interval_s, dtype=float), asyn.shape) if asyn.size else np.empty(0)
    bad = interval[~((interval > 0.05) & (interval <= 10))] if interval.size else np.empty(0)
    if bad.size:
        raise ParameterError(f"cue_interval_s must be in (0.05, 10] seconds (not ms), got a value of {float(bad[0])!r}")
    windows = _check_windows(windows_ms)
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int | np.integer) or not 0 <= n_bootstrap <= 100_000:
        raise ParameterError(f"n_bootstrap must be a whole number in [0, 100000], got {n_bootstrap!r}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    hit = np.isfinite(asyn)
    a = asyn[hit]
    phase = 2 * np.pi * a / (interval[hit] * 1000.0)
    pair = hit[:-1] & hit[1:]
    previous, following = asyn[:-1][pair], asyn[1:][pair]
    nan = Estimate(float("nan"), float("nan"), float("nan"))

    def estimate(value: float, replicates: np.ndarray | None) -> Estimate:
        if not np.isfinite(value) or replicates is None:
            return Estimate(float(value), float("nan"), float("nan"))
        return Estimate(float(value), *_interval(replicates))

    if a.size == 0:
        return BlockMetrics(asyn.size, 0, nan, nan, nan, float("nan"), nan, {w: nan for w in windows})
    boot = a.size >= 2 and n_bootstrap > 0
    idx = generator.integers(0, a.size, size=(n_bootstrap, a.size)) if boot else None
    sd = float(np.std(a, ddof=1)) if a.size >= 2 else float("nan")
    mean_phase = float(np.degrees(np.angle(np.mean(np.exp(1j * phase)))))
    within = {w: estimate(100.0 * float(np.mean(np.abs(a) <= w)),
                          100.0 * np.mean(np.abs(a[idx]) <= w, axis=1) if boot else None) for w in windows}
    if previous.size >= MIN_PAIRS:
        gain = float(_gain(previous, following))
        pairs = generator.integers(0, previous.size, size=(n_bootstrap, previous.size)) if n_bootstrap else None
        gain_est = estimate(gain, _gain(previous[pairs], following[pairs]) if pairs is not None else None)
    else:
        gain_est = nan
    return BlockMetrics(
        n_beats=int(asyn.size),
        n_hits=int(a.size),
        mean_asynchrony_ms=estimate(float(np.mean(a)), np.mean(a[idx], axis=1) if boot else None),
        sd_asynchrony_ms=estimate(sd, np.std(a[idx], axis=1, ddof=1) if boot else None),
        circular_r=estimate(float(_resultant(phase)), _resultant(phase[idx]) if boot else None),
        mean_phase_deg=mean_phase,
        phase_correction_gain=gain_est,
        within_pct=within,
    )
