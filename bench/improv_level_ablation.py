"""Which metrical-level features generalise to drummers not seen: the level score's variants, fitted
and scored as bench/improv.py fits the defaults, on the development files, leaving one drummer out,
on perturbed performances, and on synthetic melodies and grooves.

Usage: ``python bench/improv_level_ablation.py [DATA_DIR] [--json] [--margins [VARIANT]]``

Each variant is a set of per-candidate features (the seven of :data:`cadenza.improv.pulse.LEVEL_FEATURES`
and the extra ones below), fitted by the benchmark's pairwise logistic regression (ridge 0.003 unless
the variant says otherwise). Columns: ``dev`` = fitted on the 42 beat files and scored on them;
``lodo`` = fitted without a drummer and scored on that drummer; ``lostyle`` = fitted without a style
family (the index's style before the "/": rock, jazz, latin, ...) and scored on it; ``perturbed`` = the development weights
on every perturbation of bench/improv.py (:func:`improv.perturb`), ``perturbed lodo`` = the held-out
drummer's fold weights on that drummer's perturbed files; ``melodies`` = the 92 synthetic melodies with
accented beats (:func:`improv.synthetic_melodies`, scored with the variant's weights when the
velocities mark accents, else the plain weights, as ``estimate_pulse`` does); ``grooves 16ths`` /
``grooves 8ths`` = a kick-snare backbeat with sixteenth hi-hats / eighth hi-hats at 40 tempi from 50
to 240 BPM (log-spaced). A candidate is scored right when within +-2 % of the truth (the level choice
only: the final least-squares refinement of ``estimate_pulse`` is left out, so dev figures can differ
from bench/improv.py's by a file).

Extra features: ``occupancy`` (share of the candidate's beats holding any note), ``beat_alignment``
(:func:`grid_alignment` at the period itself), ``notes_per_beat`` (log2, and its square),
``odd_bar`` (the onset autocorrelation at 1.5, 2.5 and 3.5 periods less that at 1-4 periods: a bar
that is not a whole number of beats), ``voice_accents`` (loud-on-eighths and soft-on-sixteenths with
each note's velocity relative to the median of its own drum voice, so a missing voice or a
compressed kit does not move them); ``backbeat`` and ``foot_pulse`` (the kit's roles,
:mod:`cadenza.improv.kit`: shipped for drum kits since branch ``improv7``), ``swing`` (long-short: the
notes near 2/3 of the beat less those near 1/3, :func:`_swing`),
``meter_kick_snare`` / ``meter_all_notes`` (meter consistency: cos(2 pi bar / period), the bar read as the
first autocorrelation peak of the kick and snare's, or of every note's, onset envelope within 0.75-6 s
holding 90 % of the range's highest peak, :func:`_bar_lag_s`: a level whose beat does not divide the bar,
as half time in 3/4, scores -1), ``meter_bar_salience_improv8`` (the same with the kick and snare's bar read
as the shipped :func:`cadenza.improv.pulse.estimate_bar_s` reads it: the lag whose 1-4 multiples hold the
highest mean autocorrelation; as branch ``improv8`` shipped it, its weight fitted after the other nine,
option ``last_after``), ``meter_bar_salience`` (:func:`cadenza.improv.kit.meter_consistency` as shipped now:
the same, but a bar of two or more beats scores at least 0, so 5/8 and 7/8 counted in quarter notes are not
held against the written beat), ``odd_division`` (the notes' :func:`grid_alignment` at a fifth or a seventh of
the candidate's beat, the larger), ``odd_division_excess`` (:func:`cadenza.improv.pulse.odd_division` as
shipped: how far that exceeds the best alignment at a half, third, quarter, sixth or eighth of the beat, at
least 0; the shipped score subtracts :data:`cadenza.improv.pulse.ODD_DIVISION_PENALTY` (10) times it, a set
weight, option ``fixed_last``, the others fitted without it), ``odd_division_excess_deep`` (the same with
tenths and fourteenths among the odd divisions and twelfths and sixteenths among the metrical ones: a beat of
two halves of five tatums). ``odd meters``: kit grooves in 3/4 and 5/4 (:func:`_odd_meter_groove`, four
patterns at 30 tempi from 60 to 240 BPM); ``5/8 7/8``: grooves in 5/8 (3+2) and 7/8 (2+2+3) eighths, the
beat a quarter note as the Groove files count it; both scored with the variant's development weights. ``--margins`` prints each development file's score margin (right
candidate less the best wrong one) with the development and the fold's weights. ``lodo nll`` / ``pert. lodo nll``:
the held-out drummer's mean negative log-likelihood of the right candidate (softmax of the scores over
the candidates; files whose right level is not a candidate, or every candidate, left out): it moves
with the margins, not only with the files that flip, so it separates variants that tie on 42 files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import improv as bench  # noqa: E402  (bench/improv.py: data, perturbations, melodies)

EXTRA = ("occupancy", "beat_alignment", "log_notes_per_beat", "log_notes_per_beat_sq", "odd_bar",
         "voice_loud_on_eighths", "voice_soft_on_sixteenths", "backbeat", "swing", "foot_pulse", "meter_kick_snare",
         "meter_all_notes", "meter_bar_salience_improv8", "meter_bar_salience", "odd_division", "odd_division_excess",
         "odd_division_excess_deep")
BASE = list(range(7))
#: name -> (feature columns, options); columns index the 7 base features then EXTRA (7 + i)
VARIANTS = {
    "7 features (as before; kept without a kit)": (BASE, {}),
    "+ occupancy": (BASE + [7], {}),
    "triplets -> max(sixteenths, triplets)": ([0, 1, 2, "max23", 4, 5, 6], {}),
    "triplets -> triplets - beat alignment": ([0, 1, 2, "trip_minus_beat", 4, 5, 6], {}),
    "+ notes per beat (log, squared)": (BASE + [9, 10], {}),
    "+ odd bar": (BASE + [11], {}),
    "accents within each drum voice": ([0, 1, 2, 3, 12, 13, 6], {}),
    "default, trained with perturbed copies": (BASE, {"augment": True}),
    "default, prior weight fixed at 1": (BASE, {"prior_weight": 1.0}),
    "default, ridge 0.03": (BASE, {"l2": 0.03}),
    "+ backbeat": (BASE + [14], {}),
    "+ swing (long-short)": (BASE + [15], {}),
    "+ backbeat + swing": (BASE + [14, 15], {}),
    "+ foot pulse": (BASE + [16], {}),
    "+ backbeat + foot pulse (shipped for kits in improv7)": (BASE + [14, 16], {}),
    "kit + meter (kick+snare bar)": (BASE + [14, 16, 17], {}),
    "kit + meter (all notes' bar)": (BASE + [14, 16, 18], {}),
    "kit + meter (bar salience), fitted together": (BASE + [14, 16, 19], {}),
    "kit + meter (bar salience), fitted after (improv8)": (BASE + [14, 16, 19], {"last_after": True}),
    "kit + meter, a bar of 2+ beats not held against a half beat, fitted after (before the odd division)": (
        BASE + [14, 16, 20], {"last_after": True}),
    "+ odd division (alignment at beat / 5 or / 7), fitted after": (BASE + [14, 16, 20, 21], {"n_after": 2}),
    "+ odd division excess, fitted after": (BASE + [14, 16, 20, 22], {"n_after": 2}),
    "+ odd division excess, fitted with the nine": (BASE + [14, 16, 22, 20], {"last_after": True}),
    "+ odd division excess, weight set at -3": (BASE + [14, 16, 20, 22], {"n_after": 1, "fixed_last": -3.0}),
    "+ odd division excess (down to 10 and 14 too), weight set at -10": (
        BASE + [14, 16, 20, 23], {"n_after": 1, "fixed_last": -10.0}),
    "+ odd division excess, weight set at -30": (BASE + [14, 16, 20, 22], {"n_after": 1, "fixed_last": -30.0}),
    "+ odd division excess, weight set at -10 (shipped)": (BASE + [14, 16, 20, 22],
                                                           {"n_after": 1, "fixed_last": -10.0}),
}
SHIPPED = "+ odd division excess, weight set at -10 (shipped)"


def _beat_occupancy(t: np.ndarray, period_s: np.ndarray) -> np.ndarray:
    from cadenza.improv.pulse import accented_beat_share

    return accented_beat_share(t, np.ones(t.size), period_s) if np.ptp(t) > 0 else np.zeros(period_s.size)


def _odd_bar(t: np.ndarray, w: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    from cadenza.improv.pulse import FRAME_RATE_HZ, _autocorrelation, onset_envelope

    acf = _autocorrelation(onset_envelope(t, weights=w))
    lag = 60.0 * FRAME_RATE_HZ / bpm
    at = lambda m: np.interp(m * lag, np.arange(acf.size), acf, right=0.0)  # noqa: E731
    return np.max([at(m) for m in (1.5, 2.5, 3.5)], axis=0) - np.max([at(m) for m in (1, 2, 3, 4)], axis=0)


def _swing(t: np.ndarray, v: np.ndarray, period_s: np.ndarray) -> np.ndarray:
    """Long-short: (velocity of the notes within 1/16 of a beat of its 2/3 point - of those near its 1/3
    point) / all notes' velocity, the beat's phase from each 8-s window's resultant (the swung eighth
    of a jazz ride or a shuffle sits at 2/3 of the beat, and at neither point of half or double time)."""
    w = v.astype(float)
    window = np.floor((t - t.min()) / 8.0).astype(int)
    out = np.zeros(period_s.size)
    for k, period in enumerate(period_s):
        z = w * np.exp(2j * np.pi * t / period)
        sums = np.bincount(window, weights=z.real) + 1j * np.bincount(window, weights=z.imag)
        phase = ((t - (np.angle(sums) / (2 * np.pi) * period)[window]) / period) % 1.0
        out[k] = (w[np.abs(phase - 2 / 3) < 1 / 16].sum() - w[np.abs(phase - 1 / 3) < 1 / 16].sum()) / w.sum()
    return out


#: The bar: the first autocorrelation peak within BAR_RANGE_S holding BAR_PEAK_SHARE of the range's highest.
BAR_RANGE_S = (0.75, 6.0)
BAR_PEAK_SHARE = 0.9
KICK_SNARE = (35, 36, 37, 38, 40)


def _bar_lag_s(t: np.ndarray, w: np.ndarray) -> float:
    """The bar period (s) of the notes' onset envelope; NaN when there is no peak (or too few notes)."""
    from cadenza.improv.pulse import FRAME_RATE_HZ, _autocorrelation, onset_envelope

    if t.size < 8 or np.ptp(t) < 2 * BAR_RANGE_S[0]:
        return float("nan")
    acf = _autocorrelation(onset_envelope(t, weights=w))
    lo, hi = int(BAR_RANGE_S[0] * FRAME_RATE_HZ), min(int(BAR_RANGE_S[1] * FRAME_RATE_HZ), acf.size - 1)
    if hi <= lo + 2:
        return float("nan")
    seg = acf[lo - 1:hi + 1]
    peaks = np.flatnonzero((seg[1:-1] >= seg[:-2]) & (seg[1:-1] >= seg[2:]))
    if peaks.size == 0:
        return float("nan")
    values = seg[1:-1][peaks]
    return (lo + float(peaks[np.argmax(values >= BAR_PEAK_SHARE * values.max())])) / FRAME_RATE_HZ


def _meter(t: np.ndarray, w: np.ndarray, period_s: np.ndarray, bar=_bar_lag_s) -> np.ndarray:
    """Meter consistency: cos(2 pi bar / period), 1 when the bar (:func:`_bar_lag_s`) holds a whole number
    of the candidate's beats, -1 at a half (half time in 3/4); 0 without a bar."""
    bar_s = bar(t, w)
    return np.zeros(period_s.size) if not np.isfinite(bar_s) else np.cos(2 * np.pi * bar_s / period_s)


def _meter_unclipped(bar_s: float, period_s: np.ndarray) -> np.ndarray:
    """The meter term as branch improv8 shipped it: cos(2 pi bar / period) at every bar length, so 5/8 or 7/8
    counted in quarter notes (2.5 or 3.5 beats a bar) scores -1 at the written beat; 0 without a bar.
    :func:`cadenza.improv.kit.meter_consistency` now holds only a bar of less than two beats against a level."""
    return np.zeros(period_s.size) if not np.isfinite(bar_s) else np.cos(2 * np.pi * bar_s / period_s)


ODD_DIVISIONS = (5, 7)
METRICAL_DIVISIONS = (2, 3, 4, 6, 8)
#: One level deeper: a beat of two halves of five or seven tatums each is no metrical beat either.
DEEP_ODD_DIVISIONS = (5, 7, 10, 14)
DEEP_METRICAL_DIVISIONS = (2, 3, 4, 6, 8, 12, 16)


def _odd_division(t: np.ndarray, w: np.ndarray, period_s: np.ndarray) -> tuple[np.ndarray, ...]:
    """(the notes' alignment to a fifth or a seventh of the candidate's beat, max of the two; how far it
    exceeds their best alignment to a metrical division of it, 2, 3, 4, 6 or 8, at least 0): in a metrical
    hierarchy the beat is the tatum times 2, 3, 4, 6 or 8, never 5 or 7, so a candidate whose beat the
    notes divide in 5 or 7 (4/5 of a 5/4 tempo: five sixteenths a beat) is implausible."""
    from cadenza.improv.pulse import grid_alignment

    odd = np.max([grid_alignment(t, w, period_s / m) for m in ODD_DIVISIONS], axis=0)
    metrical = np.max([grid_alignment(t, w, period_s / m) for m in METRICAL_DIVISIONS], axis=0)
    deep_odd = np.max([grid_alignment(t, w, period_s / m) for m in DEEP_ODD_DIVISIONS], axis=0)
    deep_metrical = np.max([grid_alignment(t, w, period_s / m) for m in DEEP_METRICAL_DIVISIONS], axis=0)
    return odd, np.maximum(odd - metrical, 0.0), np.maximum(deep_odd - deep_metrical, 0.0)


def candidate_features(t: np.ndarray, v: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(candidate BPM, (candidates, 7 + len(EXTRA)) features) of one take."""
    from cadenza.improv.kit import backbeat_alignment, foot_pulse, meter_consistency
    from cadenza.improv.pulse import accent_alignment, estimate_bar_s, grid_alignment, level_candidates

    bpm, base = level_candidates(t, velocities=v)
    if bpm.size == 0:
        return bpm, np.empty((0, 7 + len(EXTRA)))
    w, period_s = v / 127.0, 60.0 / bpm
    relative = np.empty(v.size)
    for voice in np.unique(p):
        mine = p == voice
        relative[mine] = v[mine] / max(float(np.median(v[mine])), 1.0)
    per_beat = np.log2(t.size / (np.ptp(t) / period_s))
    ks = np.isin(p, KICK_SNARE)
    voice_loud, voice_soft = accent_alignment(t, relative, period_s)
    bar_s = estimate_bar_s(t[ks], w[ks])
    return bpm, np.column_stack([base, _beat_occupancy(t, period_s), grid_alignment(t, w, period_s), per_beat,
                                 per_beat ** 2, _odd_bar(t, w, bpm), voice_loud, voice_soft,
                                 backbeat_alignment(t, v, p, period_s), _swing(t, v, period_s),
                                 foot_pulse(t, p, period_s), _meter(t[ks], w[ks], period_s), _meter(t, w, period_s),
                                 _meter_unclipped(bar_s, period_s), meter_consistency(bar_s, period_s),
                                 *_odd_division(t, w, period_s)])


def _columns(features: np.ndarray, cols: list) -> np.ndarray:
    out = []
    for c in cols:
        if c == "max23":
            out.append(np.maximum(features[:, 2], features[:, 3]))
        elif c == "trip_minus_beat":
            out.append(features[:, 3] - features[:, 8])
        else:
            out.append(features[:, c])
    return np.column_stack(out) if features.shape[0] else np.empty((0, len(cols)))


def fit(items: list[tuple[np.ndarray, np.ndarray, float]], *, l2: float = bench.L2,
        prior_weight: float | None = None, last_after: bool = False, n_after: int = 0,
        fixed_last: float | None = None) -> np.ndarray:
    """bench/improv.py's pairwise logistic regression; ``prior_weight`` holds the log-prior's weight;
    ``last_after`` fits the last feature's weight after the others, with them held (as bench/improv.py
    fits the kit's meter); ``n_after`` does so for the last n features, one after the other;
    ``fixed_last`` sets the last feature's weight to that value and fits the others without it (with
    ``n_after`` applied to them)."""
    n_after = max(n_after, int(last_after))
    if fixed_last is not None:
        first = fit([(b, f[:, :-1], t) for b, f, t in items], l2=l2, prior_weight=prior_weight, n_after=n_after)
        return np.r_[first, fixed_last]
    if n_after:
        first = fit([(b, f[:, :-1], t) for b, f, t in items], l2=l2, prior_weight=prior_weight, n_after=n_after - 1)
        d = bench._pairwise_differences(items)
        return np.r_[first, bench._logistic_fit(d[:, -1:], offset=d[:, :-1] @ first)]
    diffs = []
    for bpm, features, truth in items:
        right = np.abs(bpm / truth - 1) <= 0.03
        if right.any() and not right.all():
            diffs += list(features[right].mean(axis=0) - features[~right])
    d = np.asarray(diffs)
    w = np.zeros(d.shape[1])
    if prior_weight is not None:
        w[1] = prior_weight
    for _ in range(3000):
        step = -(d * (1 / (1 + np.exp(d @ w)))[:, None]).mean(axis=0) + l2 * w
        if prior_weight is not None:
            step[1] = 0.0
        w -= 0.5 * step
    return w


def _right(bpm: np.ndarray, features: np.ndarray, w: np.ndarray, truth: float) -> bool:
    return bool(bpm.size) and bench.correct(float(bpm[np.argmax(features @ w)]), truth)


def _nll(bpm, features, w, truth):
    right = np.abs(bpm / truth - 1) <= 0.03
    if not right.any() or right.all():
        return None
    s = features @ w
    s = s - s.max()
    return float(-np.log(np.exp(s[right]).sum() / np.exp(s).sum()))


def _groove(tempo_bpm: float, eighths: bool, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """12 bars of 4/4: kick on 1 and 3, snare on 2 and 4, closed hi-hat sixteenths (or eighths), louder
    on the beat, 4 ms of jitter."""
    rng = np.random.default_rng(seed)
    beat_s, rows = 60.0 / tempo_bpm, []
    for beat in range(48):
        t0 = beat * beat_s
        rows.append((t0, 36 if beat % 2 == 0 else 38, 110 if beat % 2 == 0 else 100))
        rows += [(t0 + k * beat_s / 4, 42, 75 if k == 0 else 50) for k in range(0, 4, 2 if eighths else 1)]
    t = np.array([r[0] for r in rows]) + rng.normal(0.0, 0.004, len(rows))
    order = np.argsort(t, kind="stable")
    return (np.clip(t[order], 0.0, None), np.array([r[2] for r in rows], dtype=float)[order],
            np.array([r[1] for r in rows])[order])


#: Kit grooves in odd meters (:func:`_odd_meter_groove`), each at ODD_METER_TEMPI tempi.
ODD_METERS = ("rock 3/4", "jazz waltz", "rock 5/4 (3+2)", "rock 5/4 (pedal)", "5/8 in quarters (3+2)",
              "7/8 in quarters (2+2+3)")
ODD_METER_TEMPI = np.exp(np.linspace(np.log(60.0), np.log(240.0), 30))


def _odd_meter_groove(tempo_bpm: float, meter: str, seed: int,
                      n_bars: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A drum kit's groove in 3/4 or 5/4 (times s, velocities, General MIDI pitches), 5 ms of jitter:
    "rock 3/4" kick on 1, snare on 2 and 3, eighth hats louder on the beat; "jazz waltz" the ride on 1,
    2, the swung "a" of 2 and 3, the pedal on 2 and 3, a soft kick on 1, one snare comp a bar; "rock 5/4
    (3+2)" kick on 1 and 4, snare on 3 and 5, eighth hats; "rock 5/4 (pedal)" kick on 1, 3, 5, snare
    on 2 and 4, eighth hats and the pedal on every beat."""
    rng = np.random.default_rng(seed)
    beat_s, rows = 60.0 / tempo_bpm, []
    if "in quarters" in meter:  # eighths in groups (kick on each group's first, snare on the last group's),
        groups = (3, 2) if meter.startswith("5/8") else (2, 2, 3)  # the beat a quarter: 2.5 or 3.5 a bar
        per_bar_eighths = sum(groups)
        starts = np.cumsum((0,) + groups[:-1])
        for bar in range(n_bars):
            for e in range(per_bar_eighths):
                t0 = (bar * per_bar_eighths + e) * beat_s / 2
                if e in starts[:-1]:
                    rows.append((t0, 36, 110))
                elif e == starts[-1]:
                    rows.append((t0, 38, 100))
                rows.append((t0, 42, 75 if e in starts else 55))
        t = np.array([r[0] for r in rows]) + rng.normal(0.0, 0.005, len(rows))
        order = np.argsort(t, kind="stable")
        return (np.clip(t[order], 0.0, None), np.array([r[2] for r in rows], dtype=float)[order],
                np.array([r[1] for r in rows])[order])
    per_bar = 3 if "3/4" in meter or meter == "jazz waltz" else 5
    for bar in range(n_bars):
        for beat in range(per_bar):
            t0 = (bar * per_bar + beat) * beat_s
            if meter == "jazz waltz":
                rows.append((t0, 51, 80 if beat == 0 else 65))
                if beat == 1:
                    rows.append((t0 + 2 * beat_s / 3, 51, 50))
                rows.append((t0, 44, 60) if beat else (t0, 36, 70))
                continue
            if meter == "rock 3/4":
                rows.append((t0, 36, 110) if beat == 0 else (t0, 38, 100))
            elif meter == "rock 5/4 (3+2)":
                if beat in (0, 3):
                    rows.append((t0, 36, 110))
                if beat in (2, 4):
                    rows.append((t0, 38, 100))
            else:
                rows.append((t0, 36, 110) if beat % 2 == 0 else (t0, 38, 100))
                rows.append((t0, 44, 60))
            rows += [(t0, 42, 75), (t0 + beat_s / 2, 42, 50)]
        if meter == "jazz waltz":
            comp_s = (bar * per_bar + int(rng.integers(0, per_bar))) * beat_s + 2 * beat_s / 3 * int(rng.integers(0, 2))
            rows.append((comp_s, 38, int(rng.integers(40, 90))))
    t = np.array([r[0] for r in rows]) + rng.normal(0.0, 0.005, len(rows))
    order = np.argsort(t, kind="stable")
    return (np.clip(t[order], 0.0, None), np.array([r[2] for r in rows], dtype=float)[order],
            np.array([r[1] for r in rows])[order])


def collect(data_dir: Path) -> dict:
    from cadenza.improv.pulse import has_accents
    from cadenza.io import load_midi_take

    rows = [r for r in bench.load_index(data_dir) if r["beat_or_fill"] == "beat"]
    files, perturbed, augmented, styles = [], [], [], []
    test_rng, train_rng = np.random.default_rng(0), np.random.default_rng(1)
    for r in rows:
        n = load_midi_take(data_dir / r["file"])[0].notes
        t, v, p = n.onset_times_s, n.velocities.astype(float), n.pitches
        truth = float(r["bpm"])
        files.append((r["drummer"], *candidate_features(t, v, p), truth))
        styles.append(r["style"].split("/")[0])
        for kind in bench.PERTURBATIONS:
            for rng, out in ((test_rng, perturbed), (train_rng, augmented)):
                x = bench.perturb(t, p, v, kind, rng)
                if x is not None:
                    out.append((r["drummer"], *candidate_features(*x), truth))
    melodies = [(bpm, *candidate_features(t, v, np.zeros(t.size, dtype=int)), has_accents(v / 127.0))
                for bpm, t, v in bench.synthetic_melodies(accents="beats")]
    grooves = {}
    for eighths in (False, True):
        grooves[eighths] = [(tempo, *candidate_features(*_groove(tempo, eighths, k)), True)
                            for k, tempo in enumerate(np.exp(np.linspace(np.log(50.0), np.log(240.0), 40)))]
    odd = [(tempo, *candidate_features(*_odd_meter_groove(tempo, meter, k)), True)
           for meter in ODD_METERS if "in quarters" not in meter for k, tempo in enumerate(ODD_METER_TEMPI)]
    eighths = [(tempo, *candidate_features(*_odd_meter_groove(tempo, meter, k)), True)
               for meter in ODD_METERS if "in quarters" in meter for k, tempo in enumerate(ODD_METER_TEMPI)]
    return {"files": files, "names": [r["file"] for r in rows], "styles": styles, "perturbed": perturbed,
            "augmented": augmented, "melodies": melodies, "grooves": grooves, "odd_meter_grooves": odd,
            "eighths_meter_grooves": eighths}


def evaluate(data: dict, cols: list, options: dict) -> dict:
    from cadenza.improv.pulse import PLAIN_LEVEL_WEIGHTS

    sel = lambda items: [(b, _columns(f, cols), t) for _, b, f, t in items]  # noqa: E731
    train = sel(data["files"]) + (sel(data["augmented"]) if options.get("augment") else [])
    opts = {k: v for k, v in options.items() if k in ("l2", "prior_weight", "last_after", "n_after",
                                                               "fixed_last")}
    w = fit(train, **opts)
    out = {"dev": 100 * np.mean([_right(b, f, w, t) for b, f, t in sel(data["files"])]),
           "perturbed": 100 * np.mean([_right(b, f, w, t) for b, f, t in sel(data["perturbed"])])}
    lodo, lodo_perturbed, lodo_nll, lodo_pnll = [], [], [], []
    for drummer in sorted({d for d, *_ in data["files"]}):
        fold = [x for x in data["files"] if x[0] != drummer]
        extra = [x for x in data["augmented"] if x[0] != drummer] if options.get("augment") else []
        wd = fit(sel(fold) + sel(extra), **opts)
        lodo += [_right(b, f, wd, t) for b, f, t in sel([x for x in data["files"] if x[0] == drummer])]
        lodo_nll.extend(_nll(b, f, wd, t) for b, f, t in sel([x for x in data["files"] if x[0] == drummer]))
        lodo_pnll.extend(_nll(b, f, wd, t) for b, f, t in sel([x for x in data["perturbed"] if x[0] == drummer]))
        lodo_perturbed += [_right(b, f, wd, t) for b, f, t in sel([x for x in data["perturbed"] if x[0] == drummer])]
    out["lodo"], out["perturbed_lodo"] = 100 * np.mean(lodo), 100 * np.mean(lodo_perturbed)
    losfo = []
    for style in sorted(set(data["styles"])):
        fold = [x for x, st in zip(data["files"], data["styles"]) if st != style]
        ws = fit(sel(fold), **opts)
        losfo += [_right(b, f, ws, t) for b, f, t in sel([x for x, st in zip(data["files"], data["styles"])
                                                          if st == style])]
    out["lostyle"] = 100 * np.mean(losfo)
    out["lodo_nll"] = float(np.mean([x for x in lodo_nll if x is not None]))
    out["perturbed_lodo_nll"] = float(np.mean([x for x in lodo_pnll if x is not None]))
    plain = np.asarray(PLAIN_LEVEL_WEIGHTS)
    out["melodies"] = int(sum(_right(b, _columns(f, cols), w, t) if accents else _right(b, f[:, :4], plain, t)
                              for t, b, f, accents in data["melodies"]))
    for eighths, name in ((False, "grooves_16ths"), (True, "grooves_8ths")):
        out[name] = int(sum(_right(b, _columns(f, cols), w, t) for t, b, f, _ in data["grooves"][eighths]))
    out["odd_meter_grooves"] = int(sum(_right(b, _columns(f, cols), w, t) for t, b, f, _ in data["odd_meter_grooves"]))
    out["eighths_meter_grooves"] = int(sum(_right(b, _columns(f, cols), w, t)
                                           for t, b, f, _ in data["eighths_meter_grooves"]))
    out["weights"] = [round(float(x), 2) for x in w]
    return {k: (round(float(v), 3 if k.endswith("nll") else 1) if isinstance(v, float) else v) for k, v in out.items()}


def margins(data: dict, cols: list, options: dict, names: list[str]) -> list[dict]:
    """Per development file: its candidates, the chosen one (development weights) and the score margin
    of the right candidate over the best wrong one, with the development weights and with the weights
    of the fold that left the file's drummer out (NaN: the right level is not a candidate; inf: every
    candidate is right). A negative margin is a miss; a small one, a file a new drummer may flip."""
    sel = lambda items: [(b, _columns(f, cols), t) for _, b, f, t in items]  # noqa: E731
    opts = {k: v for k, v in options.items() if k in ("l2", "prior_weight", "last_after", "n_after",
                                                               "fixed_last")}
    w = fit(sel(data["files"]), **opts)
    folds = {d: fit(sel([x for x in data["files"] if x[0] != d]), **opts) for d in {x[0] for x in data["files"]}}

    def margin(bpm, features, weights, truth):
        right = np.abs(bpm / truth - 1) <= 0.03
        if not right.any():
            return float("nan")
        if right.all():
            return float("inf")
        s = features @ weights
        return float(s[right].max() - s[~right].max())

    out = []
    for name, (drummer, bpm, features, truth) in zip(names, data["files"]):
        f = _columns(features, cols)
        out.append({"file": name, "bpm": truth, "candidates_bpm": [round(float(b), 1) for b in bpm],
                    "chosen_bpm": round(float(bpm[np.argmax(f @ w)]), 1) if bpm.size else float("nan"),
                    "margin_dev": round(margin(bpm, f, w, truth), 2),
                    "margin_lodo": round(margin(bpm, f, folds[drummer], truth), 2)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=bench.DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--margins", metavar="VARIANT", nargs="?", const=SHIPPED,
                        help=f"also print each file's score margins under VARIANT (default: {SHIPPED!r})")
    args = parser.parse_args(argv)
    if not (args.data_dir / "index.csv").is_file():
        print(f"no Groove MIDI index at {args.data_dir}", file=sys.stderr)
        return 2
    data = collect(args.data_dir)
    results = {name: evaluate(data, cols, options) for name, (cols, options) in VARIANTS.items()}
    per_file = None if args.margins is None else margins(data, *VARIANTS[args.margins], data["names"])
    if args.json:
        print(json.dumps(results if per_file is None else {"variants": results, "margins": per_file}, indent=2))
        return 0
    n_groove = len(data["grooves"][False])
    print(f"{'variant':82s} {'dev':>6s} {'lodo':>6s} {'lostyle':>7s} {'pert.':>6s} {'pert.lodo':>9s} {'lodo nll':>8s} "
          f"{'pert.lodo nll':>13s} {'melodies/' + str(len(data['melodies'])):>12s} {'16ths/' + str(n_groove):>8s} "
          f"{'8ths/' + str(n_groove):>8s} {'odd meters/' + str(len(data['odd_meter_grooves'])):>14s} "
          f"{'5/8 7/8/' + str(len(data['eighths_meter_grooves'])):>11s}")
    for name, r in results.items():
        print(f"{name:82s} {r['dev']:5.1f}% {r['lodo']:5.1f}% {r['lostyle']:6.1f}% {r['perturbed']:5.1f}% {r['perturbed_lodo']:8.1f}% "
              f"{r['lodo_nll']:8.3f} {r['perturbed_lodo_nll']:13.3f} {r['melodies']:12d} {r['grooves_16ths']:8d} "
              f"{r['grooves_8ths']:8d} {r['odd_meter_grooves']:14d} {r['eighths_meter_grooves']:11d}")
    if per_file is not None:
        print(f"\nmargins under {args.margins!r} (right candidate's score less the best wrong one's; "
              f"nan: the right level is not a candidate)")
        for m in sorted(per_file, key=lambda m: m["margin_lodo"] if np.isfinite(m["margin_lodo"]) else -99):
            print(f"  {m['file']:66s} {m['bpm']:5.0f}  chosen {m['chosen_bpm']:6.1f}  dev {m['margin_dev']:6.2f}  "
                  f"lodo {m['margin_lodo']:6.2f}  candidates {m['candidates_bpm']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
