"""Closed-loop cue benchmark: fixed-tempo vs adaptive cueing, in simulation and on real step streams.

Usage: ``python bench/ras_controller.py [GAIT_DIR] [--json] [--seeds 10] [--minutes 5] [--goal-percent 10]
[--live-only]``

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

**Live (steps 2 s late).** The live session (``cadenza.ras.live``) hears of each step when the streaming
detector releases it, 2 s after it happened, and commits beats 1 s ahead. The same walkers walk with that
delay (``run_live_loop``; goal +7 %, the middle of RAS practice's +5-10 %), and real walks are replayed
with it (``replay_steps_live``): the bouts above plus the heel strikes of every gaitpdb walk (force insoles,
PD and controls, about 2 min each: walk 01 of 20 walkers, and walks 02-07 of three of them; goal = own cadence). Each candidate setting of the controller
(``LIVE_GRID``: the predictive phase correction, with phase gain 0.5 or 1, the walker model chosen by its
recent predictions or always the measured correction, and the tempo going to the goal 0.3 of the way a step
or as fast as the slew allows; beside it the two holds at the goal that shipped before: steady over 16 steps
and aiming at the walker's own phase to the held cue (``previous``), or steady over 8 steps and aiming at
-40 ms; and since part 5 the walker measured over 64 steps, with all of the prediction or its persistent share)
runs against a fixed cue at the goal from a random phase, paired by seed. **Both cues are judged on the beats
the live session plays** (issue 20, part 5): a beat committed after its time is never played, so the walker
does not hear it and it is not scored, and the fixed cue starts when the adaptive one can, once three steps have
arrived (``--committed-beats``: the earlier rule, which scored the adaptive cue's unplayed first beats and started
the fixed cue at the first step). The figure of merit is dR: the
adaptive cue's R minus the fixed cue's over the same steps, from when both have locked (each cue's own
"R after lock" would charge the cue that locks at once for the settling the other leaves out; both are
reported). A setting must bring the cue within 1 % of the goal on every simulated walker; then the one
whose worst simulated walker's median dR, or the median real walker's dR if lower, is highest wins. **Development**: the setting
chosen on all walkers, and its figures. **Cross-validation** (leave one walker out): for each simulated
walker model, and for each real walker (subject), the setting is chosen without that walker and scored on
it. The setting the live session ships (``LIVE_CONTROLLER``), part 4's predictive setting (``part4``), the one
it shipped before the predictive correction (``previous``) and the one before the delay was handled
(``before``) are scored too; each walker's dR is also given as a mean ± standard error over seeds.
``--seed-offset 300 --seeds 40`` walks the simulated walkers on seeds no choice has seen.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import itertools

from cadenza.ras.controller import AdaptiveCueController, FixedTempoCue
from cadenza.ras.live import LIVE_CONTROLLER, SCHEDULE_AHEAD_S
from cadenza.ras.walkers import (WALKER_PRESETS, LinearCorrectionWalker, evaluate_cue, replay_steps,
                                 replay_steps_live, resultant_length_from, run_closed_loop, run_live_loop)

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


LIVE_DELAY_S = 2.0
START_STEPS = 3  # the adaptive cue starts once this many steps are known (AdaptiveCueController.start_steps)
LIVE_GOAL_PERCENT = 7.0
GOAL_REACHED_FRACTION = 0.01  # the cue's final tempo within 1 % of the goal
# The hold: steady over 8 steps and aiming at -40 ms after it (as first shipped), or steady over 16 steps and
# aiming at the walker's own phase to the held cue (issue 20, the slow shuffler).
HOLD_CHOICES = ({"learn_hold_phase": False, "hold_window_steps": 8}, {"learn_hold_phase": True, "hold_window_steps": 16})
HOLD_SETTING = dict(phase_gain=0.3, period_gain=0.0, error_smoothing=1.0, delay_compensation=True, hold_at_goal=True,
                    tempo_approach=0.3, relock_fraction=0.45)
# The setting the live session shipped before the predictive correction (hold at the goal, the walker's phase)
PREVIOUS_LIVE_CONTROLLER = dict(HOLD_SETTING, **HOLD_CHOICES[1])
# ... and the one before it learnt the walker's phase at the goal.
FIRST_HOLD_CONTROLLER = dict(HOLD_SETTING, **HOLD_CHOICES[0])
# Predictive phase correction (issue 20, every walker): the gain on the predicted deviation, which walker model
# predicts it (the better of the two lately, or always the measured correction), and how fast the tempo goes to
# the goal (0.3 of the way a step, or as fast as the 2.5 % slew allows).
LIVE_GRID = [dict(predictive=True, phase_gain=g, period_gain=0.0, tempo_approach=a, walker_model=m,
                  predict_window_steps=32)
             for g, m, a in itertools.product((0.5, 1.0), ("best", "correction"), (0.3, 1.0))]
LIVE_GRID += [PREVIOUS_LIVE_CONTROLLER, FIRST_HOLD_CONTROLLER]
# The predictive setting as part 4 shipped it (the walker measured over its last 32 steps), and the ones part 5
# added (issue 20, played beats): the walker measured over 64 steps, with and without shrinking the correction.
PART4_LIVE_CONTROLLER = dict(predictive=True, phase_gain=1.0, period_gain=0.0, tempo_approach=0.3,
                             walker_model="correction", predict_window_steps=32)
LIVE_GRID += [dict(PART4_LIVE_CONTROLLER, predict_window_steps=64),
              dict(PART4_LIVE_CONTROLLER, predict_window_steps=64, correction_gain="persistent")]


def _before(preferred_spm: float) -> dict:
    """The live controller's settings before the delay was handled: phase gain shared over the beats in flight."""
    return dict(phase_gain=0.5 / (1 + LIVE_DELAY_S * preferred_spm / 60), period_gain=0.02)


def _key(setting: dict) -> str:
    if setting.get("predictive"):
        return (f"predictive, phase {setting['phase_gain']:g}, walker model {setting.get('walker_model', 'best')}, "
                f"measured over {setting.get('predict_window_steps', 32)} steps, approach {setting.get('tempo_approach', 0.1):g}"
                + (f", gain {setting['correction_gain']}" if setting.get("correction_gain", "fixed") != "fixed" else ""))
    return (f"phase {setting['phase_gain']:g}, period {setting['period_gain']:g}, smoothing "
            f"{setting.get('error_smoothing', 1.0):g}, compensation {'on' if setting.get('delay_compensation') else 'off'}, "
            f"hold {setting.get('relock_fraction', 0.45) if setting.get('hold_at_goal') else 'off'}, "
            f"approach {setting.get('tempo_approach', 0.1):g}, "
            f"steady over {setting.get('hold_window_steps', 8)}, "
            f"aim at {'the walker' if setting.get('learn_hold_phase') else '-40 ms'} after a hold")


def _gaitpdb_streams(data_dir: Path) -> list[tuple[str, str, np.ndarray]]:
    from cadenza.gait.insole import analyze_insoles
    from cadenza.io.insole import find_gaitpdb_files, load_insole

    out = []
    folder = data_dir / "gaitpdb"
    if not folder.exists():
        return out
    for path in find_gaitpdb_files(folder):
        rec = load_insole(path)
        gait = analyze_insoles(rec.left_force_n, rec.right_force_n, sampling_rate_hz=rec.sampling_rate_hz)
        hs = np.sort(np.concatenate([gait.left.heel_strike_times_s, gait.right.heel_strike_times_s]))
        hs = hs[np.concatenate([[True], np.diff(hs) > 0.2])]
        if hs.size >= MIN_REPLAY_STEPS:
            out.append((path.stem.split("_")[0], path.stem, hs))
    return out


def _score(steps: np.ndarray, beats: np.ndarray, fixed: tuple) -> dict:
    """One adaptive walk against the fixed cue's walk (same walker, same seed)."""
    ev = evaluate_cue(steps, beats)
    f_steps, f_beats, f_ev = fixed
    # R over the same stretch: from when both cues had locked (or from the first beat of either if one never did)
    locks = [beats[0] + np.nan_to_num(ev.time_to_lock_s, nan=0.0), f_beats[0] + np.nan_to_num(f_ev.time_to_lock_s, nan=0.0)]
    start = max(locks)
    return {"r_after_lock": ev.resultant_length, "lock_s": ev.time_to_lock_s,
            "r_common": resultant_length_from(steps, beats, start),
            "fixed_r_common": resultant_length_from(f_steps, f_beats, start),
            "r_all": resultant_length_from(steps, beats, -np.inf),
            "fixed_r_all": resultant_length_from(f_steps, f_beats, -np.inf),
            "cadence_end_spm": ev.cadence_end_spm,
            "cue_end_bpm": 60 / float(np.median(np.diff(beats[-20:]))) if beats.size >= 3 else float("nan")}


def _fixed_cue(tempo_bpm: float, phase_s: float, first_step_s: float, committed: bool) -> FixedTempoCue:
    """The fixed cue the adaptive one is compared with. Played beats (the rule since issue 20, part 5): it starts
    when the adaptive cue can, once ``START_STEPS`` steps are known (2 s late), ``phase_s`` after the last of
    them, and plays only the beats not yet past. ``committed`` (the earlier rule): from the first step."""
    if committed:
        return FixedTempoCue(tempo_bpm=tempo_bpm, start_s=first_step_s + phase_s)
    return FixedTempoCue(tempo_bpm=tempo_bpm, start_s=phase_s, after_steps=START_STEPS)


def live_units(data_dir: Path, seeds: int, minutes: float, seed_offset: int = 0, *, committed: bool = False,
               grid: list[dict] | None = None, real: bool = True) -> list[dict]:
    """Every walk of the live benchmark: the fixed cue's figures and each adaptive setting's, paired.

    Both cues are scored on the beats the live session plays (``committed=True``: on every committed beat, the
    rule before issue 20 part 5, under which the adaptive cue's first beats, committed after their time and
    never played, sat on the steps by construction)."""
    settings = {_key(s): s for s in (LIVE_GRID if grid is None else grid)}
    played = not committed
    units = []
    for name, params in WALKER_PRESETS.items():
        goal = params.preferred_cadence_spm * (1 + LIVE_GOAL_PERCENT / 100)
        every = dict(settings, before=_before(params.preferred_cadence_spm), shipped=LIVE_CONTROLLER,
                     previous=PREVIOUS_LIVE_CONTROLLER, part4=PART4_LIVE_CONTROLLER)
        for seed in range(seed_offset, seed_offset + seeds):
            start = float(np.random.default_rng(1000 + seed).uniform(0.1, 0.9)) * 60 / goal
            steps, beats = run_live_loop(_fixed_cue(goal, start, 0.0, committed),
                                         LinearCorrectionWalker(params, seed=seed), duration_s=minutes * 60,
                                         played_only=played)
            fixed = (steps, beats, evaluate_cue(steps, beats))
            walk = {"kind": "simulated", "walker": name, "goal_spm": goal, "fixed": fixed[2], "cues": {}}
            for key, setting in every.items():
                if _key(setting) in walk["cues"]:  # shipped and previous are grid settings: run once
                    walk["cues"][key] = walk["cues"][_key(setting)]
                    continue
                cue = AdaptiveCueController(preferred_cadence_spm=params.preferred_cadence_spm, goal_cadence_spm=goal,
                                            **setting)
                walk["cues"][key] = _score(*run_live_loop(cue, LinearCorrectionWalker(params, seed=seed),
                                                          duration_s=minutes * 60, played_only=played), fixed)
            units.append(walk)
    if not real:
        return units
    rng = np.random.default_rng(7)
    streams = [(name.split(" ")[0], name, steps) for name, steps in real_step_streams(data_dir)]
    for walker, name, steps in streams + _gaitpdb_streams(data_dir):
        cadence = float(np.clip(60 / float(np.median(np.diff(steps))), 20, 250))
        start = rng.uniform(0.1, 0.9) * 60 / cadence
        beats = replay_steps_live(_fixed_cue(cadence, start, steps[0], committed), steps,
                                  step_delay_s=LIVE_DELAY_S, schedule_ahead_s=SCHEDULE_AHEAD_S, played_only=played)
        fixed = (steps, beats, evaluate_cue(steps, beats))
        walk = {"kind": "real", "walker": walker, "walk": name, "goal_spm": cadence, "fixed": fixed[2], "cues": {}}
        for key, setting in dict(settings, before=_before(cadence), shipped=LIVE_CONTROLLER,
                                 previous=PREVIOUS_LIVE_CONTROLLER, part4=PART4_LIVE_CONTROLLER).items():
            if _key(setting) in walk["cues"]:
                walk["cues"][key] = walk["cues"][_key(setting)]
                continue
            cue = AdaptiveCueController(preferred_cadence_spm=cadence, **setting)
            walk["cues"][key] = _score(steps, replay_steps_live(cue, steps, step_delay_s=LIVE_DELAY_S,
                                                                schedule_ahead_s=SCHEDULE_AHEAD_S,
                                                                played_only=played), fixed)
        units.append(walk)
    return units


def _dr(walk: dict, key: str) -> float:
    c = walk["cues"][key]
    return c["r_common"] - c["fixed_r_common"]


def _walker_dr(units: list[dict], key: str) -> dict[tuple[str, str], float]:
    """Median dR per walker (simulated model or real subject)."""
    by: dict[tuple[str, str], list[float]] = {}
    for w in units:
        by.setdefault((w["kind"], w["walker"]), []).append(_dr(w, key))
    return {k: float(np.nanmedian(v)) for k, v in by.items()}


def _reaches_goal(units: list[dict], key: str) -> bool:
    by: dict[str, list[float]] = {}
    for w in units:
        if w["kind"] == "simulated":
            by.setdefault(w["walker"], []).append(w["cues"][key]["cue_end_bpm"] / w["goal_spm"] - 1)
    return all(abs(float(np.median(v))) <= GOAL_REACHED_FRACTION for v in by.values())


def _objective(units: list[dict], key: str) -> float:
    """The worst simulated walker's median dR, or the median real walker's if lower; -inf if the goal is missed."""
    if not _reaches_goal(units, key):
        return -np.inf
    per = _walker_dr(units, key)
    sim = [v for (kind, _), v in per.items() if kind == "simulated"]
    real = [v for (kind, _), v in per.items() if kind == "real"]
    parts = ([min(sim)] if sim else []) + ([float(np.median(real))] if real else [])
    return min(parts) if parts else float("nan")


def _choose(units: list[dict]) -> str:
    return max((_key(s) for s in LIVE_GRID), key=lambda k: np.nan_to_num(_objective(units, k), nan=-np.inf))


def _med(values) -> float | None:
    arr = np.asarray(list(values), dtype=float)
    v = float(np.nanmedian(arr)) if np.isfinite(arr).any() else float("nan")
    return None if not np.isfinite(v) else round(v, 4)


def _mean_se(values) -> dict:
    """Mean dR and its standard error over the walks (seeds or real walks)."""
    arr = np.asarray(list(values), dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return {"dr_mean": None, "dr_se": None}
    return {"dr_mean": round(float(arr.mean()), 4), "dr_se": round(float(arr.std(ddof=1) / np.sqrt(arr.size)), 4)}


def _cue_rows(units: list[dict], key: str) -> dict:
    rows = {}
    for kind in ("simulated", "real"):
        walks = [w for w in units if w["kind"] == kind]
        if not walks:
            continue
        per = _walker_dr(walks, key)
        names = list(dict.fromkeys(w["walker"] for w in walks)) if kind == "simulated" else ["all real walkers"]
        for name in names:
            sel = walks if name == "all real walkers" else [w for w in walks if w["walker"] == name]
            cue = [w["cues"][key] for w in sel]
            rows[f"{kind}: {name}"] = {
                "walks": len(sel),
                "fixed_r_common": _med(c["fixed_r_common"] for c in cue), "adaptive_r_common": _med(c["r_common"] for c in cue),
                "dr_median": _med(_dr(w, key) for w in sel), **_mean_se(_dr(w, key) for w in sel),
                "fixed_r_all": _med(c["fixed_r_all"] for c in cue), "adaptive_r_all": _med(c["r_all"] for c in cue),
                "fixed_r_after_lock": _med(w["fixed"].resultant_length for w in sel),
                "adaptive_r_after_lock": _med(c["r_after_lock"] for c in cue),
                "walkers_not_worse": (f"{sum(v >= -0.005 for v in per.values())}/{len(per)}" if kind == "real" else None),
                "fixed_lock_s": _round(np.nanmedian([w["fixed"].time_to_lock_s for w in sel])),
                "adaptive_lock_s": _round(np.nanmedian([c["lock_s"] for c in cue])),
                "goal_spm": round(float(np.median([w["goal_spm"] for w in sel])), 1),
                "cue_end_bpm": _round(np.nanmedian([c["cue_end_bpm"] for c in cue])),
                "fixed_cadence_end_spm": _round(np.nanmedian([w["fixed"].cadence_end_spm for w in sel])),
                "adaptive_cadence_end_spm": _round(np.nanmedian([c["cadence_end_spm"] for c in cue])),
            }
    return rows


def _round3(v: float):
    return None if not np.isfinite(v) else round(float(v), 4)


def _round(v: float):
    return None if not np.isfinite(v) else round(float(v), 1)


def live(data_dir: Path, seeds: int, minutes: float, seed_offset: int = 0, *, committed: bool = False) -> dict:
    units = live_units(data_dir, seeds, minutes, seed_offset, committed=committed)
    chosen = _choose(units)
    out = {"delay_s": LIVE_DELAY_S, "goal_percent": LIVE_GOAL_PERCENT, "grid_size": len(LIVE_GRID),
           "beats_scored": "committed (the earlier rule)" if committed else "played",
           "development": {"setting": chosen, "objective_dr": round(_objective(units, chosen), 3),
                           "rows": _cue_rows(units, chosen)},
           "shipped": {"setting": _key(LIVE_CONTROLLER), "objective_dr": round(_objective(units, "shipped"), 3),
                       "rows": _cue_rows(units, "shipped")},
           "part4": {"setting": _key(PART4_LIVE_CONTROLLER), "objective_dr": round(_objective(units, "part4"), 3),
                     "rows": _cue_rows(units, "part4")},
           "previous": {"setting": _key(PREVIOUS_LIVE_CONTROLLER),
                        "objective_dr": round(_objective(units, "previous"), 3), "rows": _cue_rows(units, "previous")},
           "before": {"setting": "phase 0.5/(1 + beats in flight), period 0.02, smoothing 1, compensation off, hold off",
                      "rows": _cue_rows(units, "before")}}
    out["grid"] = {key: {"objective_dr": _round3(_objective(units, key)), "rows": _cue_rows(units, key)}
                   for key in (_key(s) for s in LIVE_GRID)}
    cv = {}
    for kind, walker in dict.fromkeys((w["kind"], w["walker"]) for w in units):
        held = [w for w in units if (w["kind"], w["walker"]) == (kind, walker)]
        key = _choose([w for w in units if (w["kind"], w["walker"]) != (kind, walker)])
        cv[f"{kind}: {walker}"] = {"setting": key, "dr_median": _med(_dr(w, key) for w in held),
                                   **_mean_se(_dr(w, key) for w in held),
                                   "fixed_r_common": _med(w["cues"][key]["fixed_r_common"] for w in held),
                                   "adaptive_r_common": _med(w["cues"][key]["r_common"] for w in held),
                                   "cue_end_bpm": _round(np.nanmedian([w["cues"][key]["cue_end_bpm"] for w in held])),
                                   "goal_spm": round(float(np.median([w["goal_spm"] for w in held])), 1)}
    real_cv = [v["dr_median"] for k, v in cv.items() if k.startswith("real") and v["dr_median"] is not None]
    out["cross_validation"] = {"per_walker": cv, "real_walkers": len(real_cv),
                               "real_dr_median": round(float(np.median(real_cv)), 3) if real_cv else None,
                               "real_walkers_not_worse": sum(v >= -0.005 for v in real_cv)}
    return out


def _fmt(v) -> str:
    return "never" if v is None else f"{v:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--goal-percent", type=float, default=10.0)
    parser.add_argument("--live-only", action="store_true", help="only the live (2 s step delay) part")
    parser.add_argument("--seed-offset", type=int, default=0,
                        help="first seed of the simulated walks (100 = seeds never used for a choice)")
    parser.add_argument("--committed-beats", action="store_true",
                        help="score every committed beat, as before issue 20 part 5 (the live session plays fewer)")
    args = parser.parse_args()
    result = {"live": live(args.data_dir, args.seeds, args.minutes, args.seed_offset, committed=args.committed_beats),
              "seeds": args.seeds,
              "seed_offset": args.seed_offset, "minutes": args.minutes,
              "goal_percent": args.goal_percent, "data_dir": str(args.data_dir)}
    if not args.live_only:
        result.update(simulation=simulate(args.seeds, args.minutes, args.goal_percent), replay=replay(args.data_dir))
    if args.json:
        print(json.dumps(result))
        return
    _print_live(result["live"])
    if args.live_only:
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


def _pm(row: dict) -> str:
    return "–" if row.get("dr_mean") is None else f"{row['dr_mean']:+.4f} ± {row['dr_se']:.4f}"


def _print_live(res: dict) -> None:
    print(f"Live: steps reach the cue {res['delay_s']:g} s late, beats sent 1 s ahead; simulated goal "
          f"+{res['goal_percent']:g} %, real walks at their own cadence; {res['grid_size']} settings tried. "
          "R same = R over the steps after both cues locked; R lock = each cue's own R after lock")
    head = (f"{'walkers':<32}{'walks':>6}{'R same f/a':>13}{'dR':>7}{'dR mean ± SE':>18}{'R all f/a':>13}{'R lock f/a':>13}"
            f"{'lock s f/a':>12}{'goal':>7}{'cue end':>8}{'cad end f/a':>13}")
    for label in ("development", "shipped", "part4", "previous", "before"):
        part = res[label]
        print(f"\n{label}: {part['setting']}")
        print(head)
        for name, r in part["rows"].items():
            pair = lambda a, b: f"{_fmt(r[a])}/{_fmt(r[b])}"  # noqa: E731
            print(f"{name:<32}{r['walks']:>6}{pair('fixed_r_common', 'adaptive_r_common'):>13}{_fmt(r['dr_median']):>7}"
                  f"{_pm(r):>18}"
                  f"{pair('fixed_r_all', 'adaptive_r_all'):>13}{pair('fixed_r_after_lock', 'adaptive_r_after_lock'):>13}"
                  f"{pair('fixed_lock_s', 'adaptive_lock_s'):>12}{r['goal_spm']:>7}{_fmt(r['cue_end_bpm']):>8}"
                  f"{pair('fixed_cadence_end_spm', 'adaptive_cadence_end_spm'):>13}")
    cv = res["cross_validation"]
    print("\ncross-validation (leave one walker out: the setting chosen without the walker, scored on it)")
    for name, r in cv["per_walker"].items():
        print(f"{name:<32}{_fmt(r['fixed_r_common']):>7}{_fmt(r['adaptive_r_common']):>7}{_fmt(r['dr_median']):>8}{_pm(r):>18}"
              f"{_fmt(r['cue_end_bpm']):>7}/{r['goal_spm']:<7}  {r['setting']}")
    print(f"real walkers: median dR {cv['real_dr_median']}, not worse (dR >= -0.005) "
          f"{cv['real_walkers_not_worse']}/{cv['real_walkers']}")
    print()


if __name__ == "__main__":
    main()
