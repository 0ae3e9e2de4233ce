"""Force-insole gait benchmark on PhysioNet gaitpdb: Cadenza's insole analysis against the standard
threshold method, per walk and per subject, and healthy vs Parkinson's separation.

Usage: ``python bench/gait_insole.py [GAITPDB_DIR] [--json]``

GAITPDB_DIR defaults to ``../shared/data/gait/gaitpdb/``: records ``<Study><Co|Pt><nn>_<walk>.txt``
(19 columns, 100 Hz; see :mod:`cadenza.io.insole`).

Reference ("standard threshold method", the one the dataset's README documents): a heel strike of a
foot is the sample where its total force rises through the threshold, kept only if at least 0.2 s of
stance follows and at least 0.1 s of swing precedes it; its toe off is the next sample where the force
falls back through it. The threshold is 20 N, raised to 10 % of the foot's median stance force where
that is higher (the README's own remedy: some insoles read 20-60 N in swing, and a fixed 20 N then
misses heel strikes; the per-walk table also counts the contacts the fixed 20 N finds).
Cadenza (:func:`cadenza.gait.insole.analyze_insoles`) instead sets each foot's
threshold from that foot's own force range (8 % of baseline-to-loaded), merges flickers and interpolates
the crossing between samples. Both sides then go through the same measures (steady strides within
0.5-1.5x the foot's median stride, CV per foot averaged over the feet, Yogev swing asymmetry, Plotnik
PCI), so the table compares event detection and nothing else.

Reported per walk: contacts found vs reference, heel-strike F1 at +-50 ms and the median timing offset,
stride-time CV by both methods and the difference (target: within 0.5 percentage points per subject);
per subject (walk 01; the Ju patients with seven walks are scored on each walk too): the same; then per
group (controls vs PD, walk 01) mean +- SD of stride-time CV, swing asymmetry and PCI with the
Mann-Whitney U test's p and the AUC (probability that a random PD walk scores higher than a random
control walk).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from cadenza.gait import match_contacts
from cadenza.gait.insole import FootEvents, analyze_insoles, summarize_contacts
from cadenza.io.insole import find_gaitpdb_files, load_insole

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gait" / "gaitpdb"
REFERENCE_THRESHOLD_N = 20.0
REFERENCE_STANCE_FRACTION = 0.10
REFERENCE_MIN_STANCE_S = 0.2
REFERENCE_MIN_SWING_S = 0.1
TOLERANCE_S = 0.05
CV_TARGET_PP = 0.5
_NAME = re.compile(r"^(Ga|Ju|Si)(Co|Pt)(\d+)_(\d+)\.txt$")


def reference_threshold_n(force_n: np.ndarray, *, adjusted: bool = True) -> float:
    """20 N, or (``adjusted``, the README's remedy when 20 N misfires) 10 % of the foot's median
    stance force if that is higher: some insoles read 20-60 N in swing, where 20 N misses contacts."""
    if not adjusted:
        return REFERENCE_THRESHOLD_N
    stance = force_n[force_n > REFERENCE_THRESHOLD_N]
    if not stance.size:
        return REFERENCE_THRESHOLD_N
    return max(REFERENCE_THRESHOLD_N, REFERENCE_STANCE_FRACTION * float(np.median(stance)))


def reference_events(force_n: np.ndarray, sampling_rate_hz: float, *, adjusted: bool = True) -> FootEvents:
    """The README's threshold method: rising crossings with 0.2 s stance after, 0.1 s swing before."""
    threshold_n = reference_threshold_n(force_n, adjusted=adjusted)
    on = force_n > threshold_n
    rises = np.flatnonzero(~on[:-1] & on[1:]) + 1
    falls = np.flatnonzero(on[:-1] & ~on[1:]) + 1
    hs, to = [], []
    for r in rises:
        nxt, prv = falls[falls > r], falls[falls < r]
        stance = (nxt[0] - r) / sampling_rate_hz if nxt.size else np.inf
        swing = (r - prv[-1]) / sampling_rate_hz if prv.size else np.inf
        if stance >= REFERENCE_MIN_STANCE_S and swing >= REFERENCE_MIN_SWING_S:
            hs.append(r / sampling_rate_hz)
            to.append(nxt[0] / sampling_rate_hz if nxt.size else np.nan)
    return FootEvents(np.asarray(hs, dtype=float), np.asarray(to, dtype=float), threshold_n)


def _num(x: float, digits: int = 3):
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def bench_walk(path: Path) -> dict:
    rec = load_insole(path)
    rate = rec.sampling_rate_hz
    t0 = time.perf_counter()
    ours = analyze_insoles(rec.left_force_n, rec.right_force_n, sampling_rate_hz=rate)
    elapsed_s = time.perf_counter() - t0
    ref = summarize_contacts(reference_events(rec.left_force_n, rate), reference_events(rec.right_force_n, rate),
                             sampling_rate_hz=rate, duration_s=rec.duration_s)
    fixed = summarize_contacts(reference_events(rec.left_force_n, rate, adjusted=False),
                               reference_events(rec.right_force_n, rate, adjusted=False),
                               sampling_rate_hz=rate, duration_s=rec.duration_s)
    study, group, number, walk = _NAME.match(path.name).groups()
    matches = [match_contacts(getattr(ours, side).heel_strike_times_s, getattr(ref, side).heel_strike_times_s,
                              tolerance_s=TOLERANCE_S) for side in ("left", "right")]
    tp = sum(m.n_true_positive for m in matches)
    fp = sum(m.n_false_positive for m in matches)
    fn = sum(m.n_false_negative for m in matches)
    offsets = np.concatenate([m.timing_errors_s for m in matches])
    return {
        "file": path.name,
        "subject": f"{study}{group}{number}",
        "group": "PD" if group == "Pt" else "control",
        "walk": int(walk),
        "n_contacts": int(ours.left.heel_strike_times_s.size + ours.right.heel_strike_times_s.size),
        "n_reference_contacts": int(ref.left.heel_strike_times_s.size + ref.right.heel_strike_times_s.size),
        "hs_f1": 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else float("nan"),
        "hs_offset_ms_median": float(np.median(offsets) * 1000) if offsets.size else float("nan"),
        "stride_time_s": ours.stride_time_s,
        "reference_stride_time_s": ref.stride_time_s,
        "stride_time_cv_pct": ours.stride_time_cv_pct,
        "reference_stride_time_cv_pct": ref.stride_time_cv_pct,
        "cv_diff_pp": ours.stride_time_cv_pct - ref.stride_time_cv_pct,
        "n_fixed_20n_contacts": int(fixed.left.heel_strike_times_s.size + fixed.right.heel_strike_times_s.size),
        "fixed_20n_stride_time_cv_pct": fixed.stride_time_cv_pct,
        "swing_asymmetry_pct": ours.swing_asymmetry_pct,
        "reference_swing_asymmetry_pct": ref.swing_asymmetry_pct,
        "pci_pct": ours.pci_pct,
        "reference_pci_pct": ref.pci_pct,
        "cadence_spm": ours.cadence_spm,
        "flags": list(ours.flags),
        "x_real_time": rec.duration_s / elapsed_s if elapsed_s > 0 else float("nan"),
    }


def _group_stats(walks: list[dict], key: str) -> dict:
    control = np.array([w[key] for w in walks if w["group"] == "control" and np.isfinite(w[key])])
    pd_ = np.array([w[key] for w in walks if w["group"] == "PD" and np.isfinite(w[key])])
    out = {"control_mean": float(control.mean()), "control_sd": float(control.std(ddof=1)),
           "pd_mean": float(pd_.mean()), "pd_sd": float(pd_.std(ddof=1)), "n_control": int(control.size),
           "n_pd": int(pd_.size)}
    u = stats.mannwhitneyu(pd_, control, alternative="two-sided")
    out["mann_whitney_p"] = float(u.pvalue)
    out["auc"] = float(u.statistic / (pd_.size * control.size))
    return out


def run(data_dir: Path) -> dict:
    files = find_gaitpdb_files(data_dir)
    if not files:
        raise SystemExit(f"no gaitpdb records (<Study><Co|Pt><nn>_<walk>.txt) in {data_dir}")
    walks = [bench_walk(p) for p in files]
    usual = [w for w in walks if w["walk"] == 1]
    diffs = np.array([abs(w["cv_diff_pp"]) for w in walks if np.isfinite(w["cv_diff_pp"])])
    usual_diffs = np.array([abs(w["cv_diff_pp"]) for w in usual if np.isfinite(w["cv_diff_pp"])])
    groups = {key: _group_stats(usual, key) for key in (
        "stride_time_cv_pct", "reference_stride_time_cv_pct", "swing_asymmetry_pct", "pci_pct")}
    return {
        "data_dir": str(data_dir),
        "reference": f"threshold max({REFERENCE_THRESHOLD_N:g} N, {REFERENCE_STANCE_FRACTION:.0%} of the foot's median "
                     f"stance force), stance >= {REFERENCE_MIN_STANCE_S} s after, swing >= {REFERENCE_MIN_SWING_S} s "
                     "before (the gaitpdb README's method and its remedy when 20 N misfires)",
        "walks": walks,
        "n_walks": len(walks),
        "n_subjects": len({w["subject"] for w in walks}),
        "subjects_within_target": int(np.sum(usual_diffs <= CV_TARGET_PP)),
        "n_subjects_scored": int(usual_diffs.size),
        "walks_within_target": int(np.sum(diffs <= CV_TARGET_PP)),
        "cv_diff_pp_max": float(diffs.max()) if diffs.size else float("nan"),
        "cv_diff_pp_mean": float(diffs.mean()) if diffs.size else float("nan"),
        "hs_f1_pooled_mean": float(np.mean([w["hs_f1"] for w in walks])),
        "groups_walk01": groups,
    }


def _fmt(x, spec=".2f") -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, spec)


def print_tables(result: dict) -> None:
    print(f"gaitpdb force insoles: {result['n_walks']} walks, {result['n_subjects']} subjects — {result['data_dir']}")
    print(f"reference: {result['reference']}")
    head = (f"{'walk':<16}{'group':>8}{'HS/ref':>10}{'HS F1':>7}{'off ms':>8}{'stride s':>9}"
            f"{'CV %':>7}{'ref CV %':>9}{'diff pp':>8}{'SA %':>6}{'ref SA':>7}{'PCI %':>7}{'ref PCI':>8}")
    print(head)
    print("-" * len(head))
    for w in result["walks"]:
        print(f"{w['file']:<16}{w['group']:>8}{str(w['n_contacts']) + '/' + str(w['n_reference_contacts']):>10}"
              f"{_fmt(w['hs_f1'], '.3f'):>7}{_fmt(w['hs_offset_ms_median'], '+.0f'):>8}{_fmt(w['stride_time_s'], '.3f'):>9}"
              f"{_fmt(w['stride_time_cv_pct']):>7}{_fmt(w['reference_stride_time_cv_pct']):>9}"
              f"{_fmt(w['cv_diff_pp'], '+.2f'):>8}{_fmt(w['swing_asymmetry_pct'], '.1f'):>6}"
              f"{_fmt(w['reference_swing_asymmetry_pct'], '.1f'):>7}{_fmt(w['pci_pct'], '.1f'):>7}"
              f"{_fmt(w['reference_pci_pct'], '.1f'):>8}")
    fixed = sum(w["n_fixed_20n_contacts"] for w in result["walks"])
    adjusted = sum(w["n_reference_contacts"] for w in result["walks"])
    print(f"\nfixed 20 N (no remedy) finds {fixed} contacts against {adjusted} with the remedy")
    print(f"stride-time CV within {CV_TARGET_PP} pp of the reference: {result['subjects_within_target']}/"
          f"{result['n_subjects_scored']} subjects (walk 01), {result['walks_within_target']}/{result['n_walks']} walks; "
          f"|diff| mean {_fmt(result['cv_diff_pp_mean'])} pp, max {_fmt(result['cv_diff_pp_max'])} pp")
    print("\nHealthy vs PD (walk 01): mean ± SD, Mann-Whitney p, AUC (PD > control)")
    for key, g in result["groups_walk01"].items():
        print(f"  {key:<30} control {g['control_mean']:.2f} ± {g['control_sd']:.2f} (n={g['n_control']})   "
              f"PD {g['pd_mean']:.2f} ± {g['pd_sd']:.2f} (n={g['n_pd']})   p={g['mann_whitney_p']:.3f}  "
              f"AUC={g['auc']:.2f}")


def _nan_to_none(value):
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"data folder {data_dir} does not exist", file=sys.stderr)
        return 2
    result = run(data_dir)
    if args.json:
        print(json.dumps(_nan_to_none(result)))
    else:
        print_tables(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
