"""How the tempo and its level confidence hold up on short takes: windows of 1.5-32 s cut from the
development drum performances, scored against the file's metronome with the level weights of the
fold that left the file's drummer out (a held-out figure), beside the mean level confidence.

Usage: ``python bench/improv_short_takes.py [DATA_DIR] [--json] [--calibration]``

A confidence is calibrated when the share right at the chosen level is about the mean confidence;
"either level" counts a window right when the tempo or, where flagged ambiguous, the alternative is;
"any level" when the tempo is within the tolerance at x1/3, 1/2, 1, 2 or 3 (a wrong level, not a wrong tempo).
Drummer 2's files are left out (their notes do not follow the metronome in their names: see
bench/RESULTS.md, issue 19). Windows start at random (seed 3), four per file and length, where the
file is longer than the window plus 1 s; a window with fewer than 8 notes gives no tempo (counted
as wrong, and as confidence 0).

``--calibration``: the level confidence's reliability by bins over all windows (expected calibration
error, Brier score), beside a confidence calibrated on the windows of the other drummers (leave one
drummer out: :func:`calibration`), per window length too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import improv as bench  # noqa: E402  (bench/improv.py: data, scoring, the fit)

WINDOWS_S = (1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0, 32.0)
PER_FILE = 4
SEED = 3
LEFT_OUT_DRUMMERS = ("drummer2",)


def window_pulses(data_dir: Path, *, seed: int = SEED) -> list[dict]:
    """One record per window (see the module docstring): its length, the file's drummer and metronome BPM,
    and the :class:`cadenza.improv.pulse.Pulse` estimated with the weights of the fold without the drummer."""
    from cadenza.improv.pulse import estimate_pulse, level_candidates
    from cadenza.io import load_midi_take

    rows = [r for r in bench.load_index(data_dir) if r["beat_or_fill"] == "beat"]
    takes = [(r, load_midi_take(data_dir / r["file"])[0].notes) for r in rows]
    cands = [(r["drummer"], *level_candidates(n.onset_times_s, velocities=n.velocities, drum_pitches=n.pitches),
              float(r["bpm"])) for r, n in takes]
    folds = {d: bench.fit_level_weights([c[1:] for c in cands if c[0] != d]) for d in {c[0] for c in cands}}
    rng = np.random.default_rng(seed)
    out = []
    for length_s in WINDOWS_S:
        for r, n in takes:
            if r["drummer"] in LEFT_OUT_DRUMMERS:
                continue
            t, v, p = n.onset_times_s, n.velocities, n.pitches
            if np.ptp(t) < length_s + 1.0:
                continue
            for _ in range(PER_FILE):
                start_s = rng.uniform(float(t.min()), float(t.max()) - length_s)
                keep = (t >= start_s) & (t < start_s + length_s)
                pulse = estimate_pulse(t[keep] - start_s, velocities=v[keep], drum_pitches=p[keep],
                                       level_weights=tuple(folds[r["drummer"]]))
                out.append({"length_s": length_s, "drummer": r["drummer"], "file": r["file"],
                            "bpm": float(r["bpm"]), "n_notes": int(keep.sum()), "pulse": pulse})
    return out


def measure(data_dir: Path, *, seed: int = SEED, records: list[dict] | None = None) -> dict:
    """Per window length: right at the level, the mean level confidence (and among the right and the wrong
    windows), flagged, right at either level offered, right at any level."""
    records = window_pulses(data_dir, seed=seed) if records is None else records
    out = {}
    for length_s in WINDOWS_S:
        right, either, any_level, confidence, flagged = [], [], [], [], []
        for x in records:
            if x["length_s"] != length_s:
                continue
            pulse, truth = x["pulse"], x["bpm"]
            right.append(bench.correct(pulse.tempo_bpm, truth))
            any_level.append(bench.correct(pulse.tempo_bpm, truth, any_level=True))
            either.append(right[-1] or (pulse.level_ambiguous and bench.correct(pulse.alternative_tempo_bpm, truth)))
            confidence.append(pulse.level_confidence if np.isfinite(pulse.level_confidence) else 0.0)
            flagged.append(pulse.level_ambiguous)
        r_, c_ = np.asarray(right), np.asarray(confidence)
        out[f"{length_s:g}"] = {
            "n": int(r_.size), "right_pct": round(100 * float(r_.mean()), 1),
            "mean_level_confidence": round(float(c_.mean()), 3),
            "mean_confidence_right": round(float(c_[r_].mean()), 3) if r_.any() else None,
            "mean_confidence_wrong": round(float(c_[~r_].mean()), 3) if (~r_).any() else None,
            "flagged_pct": round(100 * float(np.mean(flagged)), 1),
            "either_level_pct": round(100 * float(np.mean(either)), 1),
            "any_level_pct": round(100 * float(np.mean(any_level)), 1)}
    return out


#: Reliability bins of a confidence (upper edges; the first holds every confidence under 0.5).
CONFIDENCE_BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MAX_MARGIN = 10.0  # the level score's margin (logit of the level confidence) is clipped here


def _calibration_features(records: list[dict]) -> np.ndarray:
    """Per window: the level score's margin (logit of the level confidence, at most MAX_MARGIN), log2 of
    the beats the window spans at the estimated tempo, and the pulse clarity; zeros where there is no tempo."""
    rows = []
    for x in records:
        pulse = x["pulse"]
        if not np.isfinite(pulse.tempo_bpm):
            rows.append((0.0, 0.0, 0.0))
            continue
        c = min(float(pulse.level_confidence), 1.0 - 1e-9)
        margin = min(float(np.log(c / (1.0 - c))), MAX_MARGIN) if c > 0.5 else 0.0
        rows.append((margin, float(np.log2(x["length_s"] * pulse.tempo_bpm / 60.0)), float(pulse.pulse_clarity)))
    return np.asarray(rows)


def reliability(confidence: np.ndarray, right: np.ndarray) -> dict:
    """Reliability by bins (:data:`CONFIDENCE_BINS`): windows, mean confidence and share right per bin; the
    expected calibration error (windows-weighted mean |share right - mean confidence|) and the Brier score."""
    edges = np.r_[0.0, CONFIDENCE_BINS]
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, len(CONFIDENCE_BINS) - 1)
    bins, ece = [], 0.0
    for k in range(len(CONFIDENCE_BINS)):
        inside = which == k
        if not inside.any():
            continue
        conf, acc = float(confidence[inside].mean()), float(right[inside].mean())
        ece += inside.sum() / confidence.size * abs(acc - conf)
        bins.append({"bin": f"{edges[k]:.1f}-{edges[k + 1]:.1f}", "n": int(inside.sum()),
                     "mean_confidence": round(conf, 3), "right_pct": round(100 * acc, 1)})
    return {"bins": bins, "ece": round(ece, 3), "brier": round(float(np.mean((confidence - right) ** 2)), 3)}


def calibration(records: list[dict]) -> dict:
    """How far the level confidence can be trusted as the chance that the tempo is right, and what a
    calibrated one would give: a logistic regression of "right at the level" on the level score's margin,
    log2 of the beats spanned and the pulse clarity (:func:`_calibration_features`; scikit-learn, default
    ridge), fitted on the windows of the other drummers and scored on each drummer's windows (leave one
    drummer out), beside the level confidence as it is. Windows without a tempo have confidence 0."""
    from sklearn.linear_model import LogisticRegression

    right = np.array([bench.correct(x["pulse"].tempo_bpm, x["bpm"]) for x in records], dtype=float)
    raw = np.array([x["pulse"].level_confidence if np.isfinite(x["pulse"].tempo_bpm) else 0.0 for x in records])
    features = _calibration_features(records)
    has_tempo = np.array([np.isfinite(x["pulse"].tempo_bpm) for x in records])
    drummers = np.array([x["drummer"] for x in records])
    lengths = np.array([x["length_s"] for x in records])
    calibrated = np.zeros(right.size)
    for d in np.unique(drummers):
        train, test = has_tempo & (drummers != d), has_tempo & (drummers == d)
        model = LogisticRegression().fit(features[train], right[train])
        calibrated[test] = model.predict_proba(features[test])[:, 1]
    model = LogisticRegression().fit(features[has_tempo], right[has_tempo])
    by_length = {f"{length:g}": {"n": int((lengths == length).sum()),
                                 "right_pct": round(100 * float(right[lengths == length].mean()), 1),
                                 "mean_level_confidence": round(float(raw[lengths == length].mean()), 3),
                                 "mean_calibrated_lodo": round(float(calibrated[lengths == length].mean()), 3)}
                 for length in WINDOWS_S}
    return {"n": int(right.size), "level_confidence": reliability(raw, right),
            "calibrated_lodo": reliability(calibrated, right), "by_length": by_length,
            "fitted_on_all": {"features": ["margin", "log2_beats_spanned", "pulse_clarity"],
                              "coefficients": [round(float(c), 3) for c in model.coef_[0]],
                              "intercept": round(float(model.intercept_[0]), 3)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=bench.DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--calibration", action="store_true",
                        help="also the level confidence's reliability by bins and a calibration fitted leaving one "
                             "drummer out")
    args = parser.parse_args(argv)
    if not (args.data_dir / "index.csv").is_file():
        print(f"no Groove MIDI index at {args.data_dir}", file=sys.stderr)
        return 2
    records = window_pulses(args.data_dir)
    result = measure(args.data_dir, records=records)
    calibrated = calibration(records) if args.calibration else None
    if args.json:
        print(json.dumps(result if calibrated is None else {"windows": result, "calibration": calibrated}, indent=2))
        return 0
    print(f"{'window':>7s} {'takes':>5s} {'right':>7s} {'mean conf.':>10s} {'conf. right':>11s} {'conf. wrong':>11s} "
          f"{'flagged':>8s} {'either level':>12s} {'any level':>9s}")
    for length, m in result.items():
        fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
        print(f"{length + ' s':>7s} {m['n']:5d} {m['right_pct']:6.1f}% {m['mean_level_confidence']:10.2f} "
              f"{fmt(m['mean_confidence_right']):>11s} {fmt(m['mean_confidence_wrong']):>11s} {m['flagged_pct']:7.1f}% "
              f"{m['either_level_pct']:11.1f}% {m['any_level_pct']:8.1f}%")
    if calibrated is not None:
        print(f"\nreliability over all {calibrated['n']} windows (confidence bin: windows, mean confidence, right)")
        for name in ("level_confidence", "calibrated_lodo"):
            r = calibrated[name]
            print(f"  {name:18s} ECE {r['ece']:.3f}  Brier {r['brier']:.3f}  " + "  ".join(
                f"{b['bin']}: {b['n']} {b['mean_confidence']:.2f} {b['right_pct']:.0f}%" for b in r["bins"]))
        print("  by length (right, mean level confidence, mean calibrated confidence, leave one drummer out): "
              + "; ".join(
            f"{k} s {m['right_pct']:.1f}% {m['mean_level_confidence']:.2f} {m['mean_calibrated_lodo']:.2f}"
            for k, m in calibrated["by_length"].items()))
        f = calibrated["fitted_on_all"]
        print(f"  fitted on all: {dict(zip(f['features'], f['coefficients']))}, intercept {f['intercept']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
