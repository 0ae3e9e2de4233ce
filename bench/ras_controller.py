"""Closed-loop cue benchmark: fixed-tempo vs adaptive cueing, in simulation and on real step streams.

Usage: ``python bench/ras_controller.py [GAIT_DIR] [--json] [--seeds 10] [--minutes 5] [--goal-percent 10]``

**Simulation.** Each walker preset (``cadenza.ras.walkers.WALKER_PRESETS``: a linear phase/period-
correcting timekeeper with motor noise, a pull back to its own cadence and its own negative mean
asynchrony) walks ``--minutes`` with (a) a fixed cue at +goal % of its preferred cadence, started at a
random phase, and (b) the adaptive controller aiming at the same goal. Reported per preset (median over
seeds): time to lock (first cue beat to the first step of the first locked 8-step window: R >= 0.9 and
mean asynchrony within +-100 ms), R after lock, % of steps locked, cadence change (last 20 steps vs
first 10), and how many walks never locked.

**Replay.** Step times from the real recordings in GAIT_DIR (default ``../shared/data/gait``): the
INDIP reference initial contacts of every mobgap_lab walking bout with >= 12 steps, and the
motion-capture initial contacts of gaitmap_healthy (both feet, split at the turn). A recording cannot
respond to the cue, so this shows how well each cue follows a real, variable gait: fixed cue at the
bout's median cadence from a random phase vs the adaptive controller. Cadence change is 0 by
construction and is not reported.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from cadenza.ras.controller import AdaptiveCueController, FixedTempoCue
from cadenza.ras.walkers import WALKER_PRESETS, LinearCorrectionWalker, evaluate_cue, replay_steps, run_closed_loop

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gait"
MIN_REPLAY_STEPS = 12


def _summary(evals: list) -> dict:
    lock = np.array([e.time_to_lock_s for e in evals])
    never = int(np.sum(np.isnan(lock)))
    return {
        "time_to_lock_s": round(float(np.nanmedian(lock)), 1) if never < lock.size else None,
        "never_locked": never,
        "resultant_length": round(float(np.nanmedian([e.resultant_length for e in evals])), 3),
        "percent_locked": round(float(np.nanmedian([e.percent_locked for e in evals])), 1),
        "cadence_change_percent": round(float(np.nanmedian(
            [100 * (e.cadence_end_spm / e.cadence_start_spm - 1) for e in evals])), 1),
        "mean_asynchrony_ms": round(float(np.nanmedian([e.mean_asynchrony_ms for e in evals])), 1),
    }


def simulate(seeds: int, minutes: float, goal_percent: float) -> dict:
    out = {}
    for name, params in WALKER_PRESETS.items():
        goal = params.preferred_cadence_spm * (1 + goal_percent / 100)
        fixed, adaptive = [], []
        for seed in range(seeds):
            start = float(np.random.default_rng(1000 + seed).uniform(0.1, 0.9)) * 60 / goal
            steps, beats = run_closed_loop(FixedTempoCue(tempo_bpm=goal, start_s=start),
                                           LinearCorrectionWalker(params, seed=seed), duration_s=minutes * 60)
            fixed.append(evaluate_cue(steps, beats))
            cue = AdaptiveCueController(preferred_cadence_spm=params.preferred_cadence_spm, goal_cadence_spm=goal)
            steps, beats = run_closed_loop(cue, LinearCorrectionWalker(params, seed=seed), duration_s=minutes * 60)
            adaptive.append(evaluate_cue(steps, beats))
        out[name] = {"preferred_cadence_spm": params.preferred_cadence_spm, "goal_cadence_spm": round(goal, 1),
                     "fixed": _summary(fixed), "adaptive": _summary(adaptive)}
    return out


def real_step_streams(data_dir: Path) -> list[tuple[str, np.ndarray]]:
    from cadenza.io.gait_datasets import load_gaitmap_healthy, load_mobgap_lab

    streams = []
    if (data_dir / "mobgap_lab").exists():
        for rec in load_mobgap_lab(data_dir / "mobgap_lab"):
            for i, bout in enumerate(rec.reference_bouts):
                ic = np.unique(np.asarray(bout.ic_times_s, dtype=float))
                if ic.size >= MIN_REPLAY_STEPS:
                    streams.append((f"{rec.recording_id} wb{i + 1}", ic))
    if (data_dir / "gaitmap_healthy").exists():
        rec = load_gaitmap_healthy(data_dir / "gaitmap_healthy")
        ic = np.sort(np.concatenate(list(rec.reference_ic_times_s.values())))
        ic = ic[np.concatenate([[True], np.diff(ic) > 0.2])]
        for i, part in enumerate(np.split(ic, np.flatnonzero(np.diff(ic) > 1.5) + 1)):
            if part.size >= MIN_REPLAY_STEPS:
                streams.append((f"gaitmap_healthy pass{i + 1}", part))
    return streams


def replay(data_dir: Path) -> dict:
    rows = {}
    rng = np.random.default_rng(7)
    for name, steps in real_step_streams(data_dir):
        cadence = 60 / float(np.median(np.diff(steps)))
        fixed = FixedTempoCue(tempo_bpm=cadence, start_s=steps[0] + rng.uniform(0.1, 0.9) * 60 / cadence)
        ev_fixed = evaluate_cue(steps, replay_steps(fixed, steps))
        adaptive = AdaptiveCueController(preferred_cadence_spm=float(np.clip(cadence, 20, 250)))
        ev_adaptive = evaluate_cue(steps, replay_steps(adaptive, steps))
        rows[name] = {"steps": int(steps.size), "cadence_spm": round(cadence, 1),
                      "step_time_cv_percent": round(float(100 * np.std(np.diff(steps)) / np.mean(np.diff(steps))), 1),
                      "fixed": _summary([ev_fixed]), "adaptive": _summary([ev_adaptive])}
    return rows


def _fmt(v) -> str:
    return "never" if v is None else f"{v:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--goal-percent", type=float, default=10.0)
    args = parser.parse_args()
    result = {"simulation": simulate(args.seeds, args.minutes, args.goal_percent),
              "replay": replay(args.data_dir), "seeds": args.seeds, "minutes": args.minutes,
              "goal_percent": args.goal_percent, "data_dir": str(args.data_dir)}
    if args.json:
        print(json.dumps(result))
        return
    print(f"Simulated walkers: {args.seeds} seeds x {args.minutes:g} min, goal +{args.goal_percent:g} % "
          "(medians; lock = R >= 0.9 and |mean async| <= 100 ms over 8 steps)")
    print(f"{'walker':<24}{'cue':<10}{'lock s':>8}{'never':>7}{'R':>7}{'% locked':>10}{'cadence %':>11}{'async ms':>10}")
    for name, row in result["simulation"].items():
        for kind in ("fixed", "adaptive"):
            s = row[kind]
            print(f"{name:<24}{kind:<10}{_fmt(s['time_to_lock_s']):>8}{s['never_locked']:>7}{s['resultant_length']:>7}"
                  f"{s['percent_locked']:>10}{s['cadence_change_percent']:>11}{s['mean_asynchrony_ms']:>10}")
    print()
    print("Replayed real step streams (the recording does not respond to the cue)")
    print(f"{'stream':<34}{'steps':>6}{'spm':>7}{'CV %':>6}{'cue':>10}{'lock s':>8}{'R':>7}{'% locked':>10}")
    for name, row in result["replay"].items():
        for kind in ("fixed", "adaptive"):
            s = row[kind]
            print(f"{name:<34}{row['steps']:>6}{row['cadence_spm']:>7}{row['step_time_cv_percent']:>6}{kind:>10}"
                  f"{_fmt(s['time_to_lock_s']):>8}{s['resultant_length']:>7}{s['percent_locked']:>10}")


if __name__ == "__main__":
    main()
