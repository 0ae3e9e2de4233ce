"""One block of tapping, drumming or clapping, analysed end to end: hits -> cue -> figures.

Hits during the cue are matched to its beats (:mod:`cadenza.timing.align`) and measured
(:mod:`cadenza.timing.metrics`); hits after the cue stopped (more than half an interval after its last
beat) are the continuation phase (:mod:`cadenza.timing.continuation`). Without a cue every hit is
unpaced tapping, described by its intervals only. ``skip_beats`` leaves the first beats out of the
figures while the person finds the beat (BAASTA discards the first 10 taps; Dalla Bella et al. 2017,
Behav Res Methods 49:1128); they are still aligned and listed.

>>> cue = [1.0 + 0.5 * k for k in range(8)]
>>> report = analyze_timing([t - 0.03 for t in cue] + [4.95, 5.45], cue_times_s=cue)
>>> round(report.block.mean_asynchrony_ms.value, 6), report.continuation.n_taps
(-30.0, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.timing.align import Alignment, align_to_cue, check_cue_times
from cadenza.timing.continuation import AlternationCheck, Continuation, check_alternation, measure_continuation
from cadenza.timing.events import check_times
from cadenza.timing.metrics import DEFAULT_N_BOOTSTRAP, DEFAULT_WINDOWS_MS, BlockMetrics, measure_block


@dataclass(frozen=True)
class TimingReport:
    """Figures of one block; parts that do not apply are None (no cue: no alignment or block)."""

    hit_times_s: np.ndarray
    alignment: Alignment | None
    block: BlockMetrics | None
    continuation: Continuation | None
    alternation: AlternationCheck | None
    skip_beats: int
    side_mean_asynchrony_ms: dict[str, float]

    def to_dict(self) -> dict:
        """Plain JSON-ready values (None for NaN)."""
        out: dict = {"n_hits": int(self.hit_times_s.size), "skip_beats": self.skip_beats}
        if self.alignment is not None:
            a = self.alignment
            out["cue"] = {
                "n_beats": int(a.cue_times_s.size), "n_matched": a.n_matched, "n_missed": a.n_missed,
                "n_extra": a.n_extra,
                "asynchrony_ms": [None if not np.isfinite(v) else round(float(v), 2) for v in a.asynchrony_ms],
            }
        out["block"] = self.block.to_dict() if self.block is not None else None
        out["continuation"] = self.continuation.to_dict() if self.continuation is not None else None
        out["alternation"] = self.alternation.to_dict() if self.alternation is not None else None
        if self.side_mean_asynchrony_ms:
            out["side_mean_asynchrony_ms"] = {k: (round(v, 2) if np.isfinite(v) else None)
                                              for k, v in self.side_mean_asynchrony_ms.items()}
        return out


def analyze_timing(hit_times_s: Sequence[float] | np.ndarray, *, cue_times_s: Sequence[float] | np.ndarray | None = None,
                   sides: Sequence[str] | None = None, skip_beats: int = 0,
                   windows_ms: Sequence[float] = DEFAULT_WINDOWS_MS, n_bootstrap: int = DEFAULT_N_BOOTSTRAP,
                   rng: int | np.random.Generator = 0) -> TimingReport:
    """Align ``hit_times_s`` to ``cue_times_s`` (heard times, s) and measure the block.

    ``sides`` labels each hit ``"L"`` or ``"R"`` (in the order of ``hit_times_s``) for bilateral
    exercises. ``rng`` seeds the bootstrap CIs.

    >>> analyze_timing([], cue_times_s=[1.0, 2.0]).block.n_hits
    0
    """
    hits = check_times(hit_times_s, name="hit_times_s")
    order = np.argsort(hits, kind="stable")
    hits = hits[order]
    if isinstance(skip_beats, bool) or not isinstance(skip_beats, int | np.integer) or skip_beats < 0:
        raise ParameterError(f"skip_beats must be a whole number >= 0, got {skip_beats!r}")
    labels = None
    if sides is not None:
        if len(sides) != np.size(hit_times_s):
            raise ParameterError(f"sides must label every hit: got {len(sides)} labels for {np.size(hit_times_s)} hits")
        labels = [list(sides)[i] for i in order]
    alternation = check_alternation(labels) if labels is not None else None

    if cue_times_s is None:
        return TimingReport(hits, None, None, measure_continuation(hits), alternation, int(skip_beats), {})
    cues = check_cue_times(cue_times_s)
    alignment = align_to_cue(hits, cue_times_s=cues)
    intervals = alignment.cue_interval_s
    asynchrony = alignment.asynchrony_ms
    counted = np.arange(cues.size) >= skip_beats
    block = measure_block(asynchrony[counted], cue_interval_s=intervals[counted] if cues.size > 1 else 1.0,
                          windows_ms=windows_ms, n_bootstrap=n_bootstrap, rng=rng)
    continuation = None
    if cues.size > 1:
        after = hits[hits > cues[-1] + intervals[-1] / 2]
        if after.size:
            # The last cued hit starts the first continuation interval.
            last_hit = alignment.hit_of_cue[-1]
            start = [hits[last_hit]] if last_hit >= 0 else []
            continuation = measure_continuation(np.concatenate([start, after]), cue_interval_s=float(intervals[-1]))
    side_async: dict[str, float] = {}
    if labels is not None:
        for side in ("L", "R"):
            idx = [alignment.hit_of_cue[i] for i in np.flatnonzero(counted & (alignment.hit_of_cue >= 0))]
            values = [asynchrony[alignment.cue_of_hit[j]] for j in idx if labels[j].strip().upper() == side]
            side_async[side] = float(np.mean(values)) if values else float("nan")
    return TimingReport(hits, alignment, block, continuation, alternation, int(skip_beats), side_async)
