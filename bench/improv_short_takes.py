"""How the tempo and its level confidence hold up on short takes: windows of 1.5-32 s cut from the
development drum performances, scored against the file's metronome with the level weights of the
fold that left the file's drummer out (a held-out figure), beside the mean level confidence.

Usage: ``python bench/improv_short_takes.py [DATA_DIR] [--json]``

A confidence is calibrated when the share right at the chosen level is about the mean confidence;
"either level" counts a window right when the tempo or, where flagged ambiguous, the alternative is;
"any level" when the tempo is within the tolerance at x1/3, 1/2, 1, 2 or 3 (a wrong level, not a wrong tempo).
Drummer 2's files are left out (their notes do not follow the metronome in their names: see
bench/RESULTS.md, issue 19). Windows start at random (seed 3), four per file and length, where the
file is longer than the window plus 1 s; a window with fewer than 8 notes gives no tempo (counted
as wrong, and as confidence 0).
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
LEFT_OUT_DRUMMERS = ("drummer2",)


def measure(data_dir: Path, *, seed: int = 3) -> dict:
    from cadenza.improv.pulse import estimate_pulse, level_candidates
    from cadenza.io import load_midi_take

    rows = [r for r in bench.load_index(data_dir) if r["beat_or_fill"] == "beat"]
    takes = [(r, load_midi_take(data_dir / r["file"])[0].notes) for r in rows]
    cands = [(r["drummer"], *level_candidates(n.onset_times_s, velocities=n.velocities, drum_pitches=n.pitches),
              float(r["bpm"])) for r, n in takes]
    folds = {d: bench.fit_level_weights([c[1:] for c in cands if c[0] != d]) for d in {c[0] for c in cands}}
    rng = np.random.default_rng(seed)
    out = {}
    for length_s in WINDOWS_S:
        right, either, any_level, confidence, flagged = [], [], [], [], []
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
                truth = float(r["bpm"])
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=bench.DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data_dir / "index.csv").is_file():
        print(f"no Groove MIDI index at {args.data_dir}", file=sys.stderr)
        return 2
    result = measure(args.data_dir)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'window':>7s} {'takes':>5s} {'right':>7s} {'mean conf.':>10s} {'conf. right':>11s} {'conf. wrong':>11s} "
          f"{'flagged':>8s} {'either level':>12s} {'any level':>9s}")
    for length, m in result.items():
        fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
        print(f"{length + ' s':>7s} {m['n']:5d} {m['right_pct']:6.1f}% {m['mean_level_confidence']:10.2f} "
              f"{fmt(m['mean_confidence_right']):>11s} {fmt(m['mean_confidence_wrong']):>11s} {m['flagged_pct']:7.1f}% "
              f"{m['either_level_pct']:11.1f}% {m['any_level_pct']:8.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
