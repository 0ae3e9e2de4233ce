"""Gait cadence benchmark: Cadenza's step detectors against the reference and against mobgap.

Usage: ``python bench/gait_cadence.py [DATA_DIR] [--json] [--rates 100,50] [--verbose] [--speeds 0.8,1.2]``

DATA_DIR defaults to ``../shared/data/gait/`` and may be any folder laid out the same way:
``mobgap_lab/**/<cohort>/<participant>/data.mat`` (lower back, INDIP reference) and optionally
``gaitmap_healthy/`` (foot-mounted, motion-capture reference).

Fair rule (the headline, issue 21): cadence and contact F1 are scored only on *stretches* where the
reference timed every contact: no untimed (NaN) contact, feet alternating, no step over 1.5x the bout's
median step, at least 8 contacts (``cadenza.gait.scoring.timed_stretches``). Both sides use one formula,
(n - 1) / (t_last - t_first) x 60 over the contacts inside the stretch's window (its first and last
contact widened by min(0.25 s, 0.4 step)), so the reference's own contacts score 0. A detector could
look good there by adding steps elsewhere, so "det/slots" counts the detections inside all reference
bout windows against the reference's step slots (timed and untimed contacts): it should stay near 1.

Old rule (kept as a column), per reference walking bout: cadence from the contacts detected inside the bout window,
(n - 1) / (t_last - t_first) x 60, against the bout's reference average cadence; the count of
detected vs reference contacts in the window; IC F1 at +-0.25 s over contacts within the bout
windows (+-0.25 s). mobgap is also scored with its own cadence step (IC detection on the bout's
signal, then ``CadFromIc`` per-second cadence averaged over the bout), as mobgap does it.
Speed is seconds of signal processed per second of compute, on one thread.

``--verbose`` adds a per-bout diagnosis of Cadenza's lower-back detector: reference vs detected
contact times, the rule cadence from the detections, from the reference contacts and from the
reference's step slots (INDIP lists a contact it could not time as NaN: counting those slots gives
the number of steps actually taken), and why the bout scores as it does.
"""

from __future__ import annotations

import functools

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import replace  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402

from cadenza.gait.scoring import score_stretch, timed_stretches  # noqa: E402
from cadenza.gait import (  # noqa: E402
    FootStepDetector,
    LowerBackStepDetector,
    cadence_spm,
    contacts_in_window,
    detect_walking_bouts,
    match_contacts,
    pool_matches,
)
from cadenza.io.gait_datasets import load_gaitmap_healthy, load_mobgap_lab  # noqa: E402

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gait"
TOLERANCE_S = 0.25
NATIVE_RATE_HZ = 100.0
_SENSOR_COLUMNS = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]


def _resample(x: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    if from_hz == to_hz:
        return x
    from fractions import Fraction

    frac = Fraction(to_hz / from_hz).limit_denominator(1000)
    return signal.resample_poly(x, frac.numerator, frac.denominator, axis=-1)


def _cadenza_lower_back(imu: np.ndarray, rate: float) -> np.ndarray:
    return LowerBackStepDetector().detect(imu[:3], sampling_rate_hz=rate).ic_times_s_


def _mobgap_detectors() -> dict[str, Callable[[np.ndarray, float], np.ndarray]]:
    try:
        import pandas as pd
        from mobgap.initial_contacts import IcdHKLeeImproved, IcdShinImproved
    except ImportError:
        return {}

    def make(cls):
        def run(imu: np.ndarray, rate: float) -> np.ndarray:
            frame = pd.DataFrame(imu.T, columns=_SENSOR_COLUMNS)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    ic = cls().detect(frame, sampling_rate_hz=rate).ic_list_["ic"].to_numpy()
                except Exception as exc:  # noqa: BLE001 - a peer failing on one file must not stop the run
                    print(f"warning: {cls.__name__} failed on a recording: {exc}", file=sys.stderr)
                    ic = np.empty(0)
            return np.unique(np.asarray(ic, dtype=float)) / rate

        return run

    return {"mobgap IcdShinImproved": make(IcdShinImproved), "mobgap IcdHKLeeImproved": make(IcdHKLeeImproved)}


def _mobgap_bout_cadence(name: str, acc: np.ndarray, rate: float, start_s: float, end_s: float) -> float:
    """mobgap's own way: detect ICs on the bout's signal, CadFromIc per second, mean over the bout."""
    import pandas as pd
    from mobgap.cadence import CadFromIc
    from mobgap.initial_contacts import IcdHKLeeImproved, IcdShinImproved

    cls = IcdShinImproved if "Shin" in name else IcdHKLeeImproved
    lo, hi = int(round(start_s * rate)), int(round(end_s * rate)) + 1
    frame = pd.DataFrame(acc[:, lo:hi].T, columns=_SENSOR_COLUMNS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ic = cls().detect(frame, sampling_rate_hz=rate).ic_list_
        cad = CadFromIc().calculate(frame, initial_contacts=ic, sampling_rate_hz=rate).cadence_per_sec_
    return float(np.nanmean(cad["cadence_spm"].to_numpy())) if len(cad) else float("nan")


def _timed(run: Callable, acc: np.ndarray, rate: float, repeats: int = 3) -> tuple[float, np.ndarray]:
    """Best of ``repeats`` wall-clock times (the machine is shared) and the result."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run(acc, rate)
        best = min(best, time.perf_counter() - t0)
    return best, result


def _inside_reference_gaps(detected_s: np.ndarray, reference_s: np.ndarray) -> np.ndarray:
    """Detections well inside a hole of the reference (a step > 1.5x its median, beyond tolerance).

    INDIP leaves contacts out (NaN) in turns; a detection there can match nothing, right or wrong,
    so F1 is also reported without them.
    """
    if reference_s.size < 3 or detected_s.size == 0:
        return np.zeros(detected_s.size, dtype=bool)
    steps = np.diff(reference_s)
    holes = np.flatnonzero(steps > 1.5 * np.median(steps))
    inside = np.zeros(detected_s.size, dtype=bool)
    for j in holes:
        inside |= (detected_s > reference_s[j] + TOLERANCE_S) & (detected_s < reference_s[j + 1] - TOLERANCE_S)
    return inside


def _scorable(bout) -> bool:
    """A reference bout can be scored if its window and average cadence are known."""
    return bool(
        np.isfinite(bout.start_s) and np.isfinite(bout.end_s) and bout.end_s > bout.start_s
        and np.isfinite(bout.cadence_spm) and bout.cadence_spm > 0
    )


def _summary(errors: list[float]) -> dict[str, float]:
    e = np.asarray(errors, dtype=float) * 100
    if e.size == 0:
        return {"mean_pct": float("nan"), "median_pct": float("nan"), "max_pct": float("nan")}
    return {"mean_pct": float(e.mean()), "median_pct": float(np.median(e)), "max_pct": float(e.max())}


def bench_lower_back(data_dir: Path, rates_hz: list[float]) -> list[dict]:
    root = data_dir / "mobgap_lab" if (data_dir / "mobgap_lab").is_dir() else data_dir
    recordings = [r for r in load_mobgap_lab(root) if r.reference_bouts]
    slots = _reference_step_slots(root)
    raw_contacts = _reference_contacts_raw(root)
    methods: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {"cadenza LowerBackStepDetector": _cadenza_lower_back}
    methods |= _mobgap_detectors()
    methods["reference ICs (oracle)"] = lambda acc, rate: np.empty(0)  # replaced per recording below
    rows = []
    for rate in rates_hz:
        signals = {
            r.recording_id: _resample(np.vstack([r.acc_m_s2, r.gyr_deg_s]), r.sampling_rate_hz, rate)
            for r in recordings
        }
        for name, run in methods.items():
            errors, own_errors, low_conf_errors, high_conf_errors = [], [], [], []
            n_det = n_ref = skipped = n_in_gaps = 0
            matches, gapless_matches = [], []
            diagnosis: list[dict] = []
            compute_s = signal_s = 0.0
            fair_errors, fair_matches = [], []
            n_in_bouts = n_slots_total = 0
            for rec in recordings:
                acc = signals[rec.recording_id]
                if name.startswith("reference"):
                    det = rec.reference_ic_times_s
                else:
                    elapsed_s, det = _timed(run, acc, rate)
                    det = np.sort(det)
                    compute_s += elapsed_s
                    signal_s += acc.shape[-1] / rate
                for bout in rec.reference_bouts:
                    if not _scorable(bout):
                        skipped += 1
                        continue
                    score = bout.score(det)
                    errors.append(score.abs_rel_error)
                    key = (rec.recording_id, round(float(bout.start_s), 3))
                    raw_ic, raw_sides = raw_contacts.get(key, (bout.ic_times_s, None))
                    for stretch in timed_stretches(raw_ic, raw_sides):
                        got, want, match = score_stretch(det, stretch, tolerance_s=TOLERANCE_S)
                        fair_errors.append(abs(got - want) / want if np.isfinite(got) else 1.0)
                        fair_matches.append(match)
                    n_in_bouts += int(contacts_in_window(det, bout.start_s, bout.end_s).size)
                    n_slots_total += int(slots.get(key, bout.ic_times_s.size))
                    if name.startswith("cadenza"):
                        n_slots = slots.get((rec.recording_id, round(float(bout.start_s), 3)))
                        diagnosis.append({"recording_id": rec.recording_id} | _diagnose_bout(det, bout, n_slots))
                    (low_conf_errors if score.n_detected < 8 else high_conf_errors).append(score.abs_rel_error)
                    n_det += score.n_detected
                    n_ref += score.n_reference
                    near = contacts_in_window(det, bout.start_s - TOLERANCE_S, bout.end_s + TOLERANCE_S)
                    matches.append(match_contacts(near, bout.ic_times_s, tolerance_s=TOLERANCE_S))
                    in_gaps = _inside_reference_gaps(near, bout.ic_times_s)
                    gapless_matches.append(match_contacts(near[~in_gaps], bout.ic_times_s, tolerance_s=TOLERANCE_S))
                    n_in_gaps += int(in_gaps.sum())
                    if name.startswith("mobgap"):
                        try:
                            own = _mobgap_bout_cadence(name, acc, rate, bout.start_s, bout.end_s)
                        except Exception as exc:  # noqa: BLE001 - short bouts can defeat the peer's filters
                            print(f"warning: mobgap cadence failed on a bout: {exc}", file=sys.stderr)
                            own = float("nan")
                    elif name.startswith("cadenza"):
                        own = cadence_spm(contacts_in_window(det, bout.start_s, bout.end_s), method="stride-mean")
                    else:
                        own = float("nan")
                    if np.isfinite(own):
                        own_errors.append(abs(own - bout.cadence_spm) / bout.cadence_spm)
            pooled, gapless = pool_matches(matches), pool_matches(gapless_matches)
            timing_s = pooled.timing_errors_s
            rows.append(
                {
                    "method": name,
                    "rate_hz": rate,
                    "n_bouts": len(errors),
                    "n_bouts_skipped_no_reference_cadence": skipped,
                    "n_stretches": len(fair_errors),
                    "stretch_cadence_error": _summary(fair_errors),
                    "stretch_ic_f1": pool_matches(fair_matches).f1 if fair_matches else float("nan"),
                    "detections_per_slot": n_in_bouts / n_slots_total if n_slots_total else float("nan"),
                    "n_detected_in_bouts": n_in_bouts,
                    "n_reference_slots": n_slots_total,
                    "cadence_error": _summary(errors),
                    "cadence_error_bouts_ge8_detected": _summary(high_conf_errors),
                    "cadence_error_bouts_lt8_detected": _summary(low_conf_errors),
                    "own_cadence_error": _summary(own_errors),
                    "ic_f1": pooled.f1,
                    "ic_f1_outside_reference_gaps": gapless.f1,
                    "n_detected_inside_reference_gaps": n_in_gaps,
                    "ic_precision": pooled.precision,
                    "ic_recall": pooled.recall,
                    "ic_bias_ms": float(np.median(timing_s) * 1000) if timing_s.size else float("nan"),
                    "n_detected": n_det,
                    "n_reference": n_ref,
                    "x_real_time": signal_s / compute_s if compute_s else float("nan"),
                }
            )
            if diagnosis:
                rows[-1]["bouts"] = diagnosis
                steps_err = [b["error_reference_steps_pct"] / 100 for b in diagnosis]
                rows[-1]["reference_steps_cadence_error"] = _summary([e for e in steps_err if np.isfinite(e)])
                rows[-1]["cadence_error_window_padded_100ms"] = _summary(
                    [b["error_window_padded_100ms_pct"] / 100 for b in diagnosis]
                )
                for edge in ("first", "last"):
                    dts = [b[f"{edge}_contact_dt_ms"] for b in diagnosis if np.isfinite(b[f"{edge}_contact_dt_ms"])]
                    rows[-1][f"{edge}_contact_dt_ms_median"] = float(np.median(dts)) if dts else float("nan")
    return rows


def _slowed(imu: np.ndarray, rate: float, factor: float) -> np.ndarray:
    """The same walk ``factor`` times slower, sampled at ``rate`` again.

    Every movement takes ``factor`` times as long, so angular rates shrink by ``factor`` and the
    dynamic part of acceleration by ``factor``**2; gravity (the 2-s moving mean) stays.
    """
    from cadenza.gait.signals import moving_mean

    acc, gyr = imu[:3], imu[3:]
    gravity = moving_mean(acc, width=int(2 * rate) + 1)
    stretched = np.vstack([gravity + (acc - gravity) / factor**2, gyr / factor])
    return _resample(stretched, rate / factor, rate)


def bench_speeds(data_dir: Path, factors: list[float]) -> list[dict]:
    """Cadence error and IC F1 on the lower-back recordings replayed slower or faster (see ``_slowed``).

    Real walkers differ in speed far more than two healthy adults do; a detector whose filters
    suit one cadence shows it here. Reference bouts, contacts and cadence are stretched alike.
    """
    root = data_dir / "mobgap_lab" if (data_dir / "mobgap_lab").is_dir() else data_dir
    recordings = [r for r in load_mobgap_lab(root) if r.reference_bouts]
    methods = {"cadenza LowerBackStepDetector": _cadenza_lower_back} | _mobgap_detectors()
    rows = []
    for factor in factors:
        signals = {r.recording_id: _slowed(np.vstack([r.acc_m_s2, r.gyr_deg_s]), r.sampling_rate_hz, factor)
                   for r in recordings}
        for name, run in methods.items():
            errors, matches = [], []
            for rec in recordings:
                det = np.sort(run(signals[rec.recording_id], rec.sampling_rate_hz))
                for bout in rec.reference_bouts:
                    if not _scorable(bout):
                        continue
                    slow = replace(bout, start_s=bout.start_s * factor, end_s=bout.end_s * factor,
                                   cadence_spm=bout.cadence_spm / factor, ic_times_s=bout.ic_times_s * factor)
                    errors.append(slow.score(det).abs_rel_error)
                    near = contacts_in_window(det, slow.start_s - TOLERANCE_S, slow.end_s + TOLERANCE_S)
                    matches.append(match_contacts(near, slow.ic_times_s, tolerance_s=TOLERANCE_S))
            rows.append({"method": name, "slowdown": factor, "cadence_error": _summary(errors),
                         "ic_f1": pool_matches(matches).f1})
    return rows


def bench_foot(data_dir: Path, rates_hz: list[float]) -> list[dict]:
    folder = data_dir / "gaitmap_healthy"
    if not (folder / "imu_sample.csv").is_file():
        return []
    rec = load_gaitmap_healthy(folder)
    rows = []
    for rate in [rec.sampling_rate_hz, *rates_hz]:
        errors, matches = [], []
        compute_s = signal_s = 0.0
        for side in ("left", "right"):
            acc = _resample(rec.acc_m_s2[side], rec.sampling_rate_hz, rate)
            gyr = _resample(rec.gyr_deg_s[side], rec.sampling_rate_hz, rate)
            elapsed_s, det = _timed(
                lambda a, r, g=gyr: FootStepDetector().detect(a, sampling_rate_hz=r, gyr_deg_s=g).ic_times_s_, acc, rate
            )
            compute_s += elapsed_s
            signal_s += acc.shape[-1] / rate
            ref = rec.reference_ic_times_s[side]
            # Motion capture covers the walk only; the final steps to a halt have no reference.
            covered = contacts_in_window(det, ref[0] - TOLERANCE_S, ref[-1] + TOLERANCE_S)
            matches.append(match_contacts(covered, ref, tolerance_s=TOLERANCE_S))
            # Reference bouts: runs of this foot's contacts without a long stride (the turn splits them).
            for start_s, end_s in detect_walking_bouts(ref, max_step_s=2.0, min_steps=4):
                ref_cad = 2 * cadence_spm(contacts_in_window(ref, start_s, end_s))
                # Half a stride of slack so a contact detected a few ms early still counts.
                got = 2 * cadence_spm(contacts_in_window(det, start_s - 0.05, end_s + 0.05))
                errors.append(abs(got - ref_cad) / ref_cad if np.isfinite(got) else 1.0)
        pooled = pool_matches(matches)
        timing_s = pooled.timing_errors_s
        rows.append(
            {
                "method": "cadenza FootStepDetector",
                "rate_hz": rate,
                "n_bouts": len(errors),
                "cadence_error": _summary(errors),
                "ic_f1": pooled.f1,
                "ic_bias_ms": float(np.mean(timing_s) * 1000),
                "ic_timing_sd_ms": float(np.std(timing_s) * 1000),
                "n_detected": pooled.n_true_positive + pooled.n_false_positive,
                "n_reference": pooled.n_true_positive + pooled.n_false_negative,
                "x_real_time": signal_s / compute_s,
                "note": "contacts scored within the span the motion capture covers",
            }
        )
    return rows


def _reference_step_slots(root: Path) -> dict[tuple[str, float], int]:
    """Steps per reference bout counting INDIP's untimed (NaN) contacts: (recording_id, start_s) -> n.

    The loader drops NaN contacts (they have no time); their number still says how many steps
    the walker took, so it gives a step count the rule can be checked against.
    """
    slots: dict[tuple[str, float], int] = {}
    for key, wb in _reference_bout_list(root):
        ic = np.atleast_1d(np.asarray(wb["InitialContact_Event"], dtype=float))
        finite = np.sort(ic[np.isfinite(ic)])
        # The same contact listed twice (< 50 ms apart) is one step, as in the loader.
        n_finite = int(np.sum(np.concatenate([[True], np.diff(finite) >= 0.05]))) if finite.size else 0
        slots[key] = n_finite + int(np.isnan(ic).sum())
    return slots


@functools.cache
def _reference_bout_list(root: Path) -> tuple:
    """Every INDIP walking bout of the lab recordings under ``root`` as ((recording_id, start_s), bout),
    read once for both reference views below."""
    from scipy.io import loadmat

    bouts = []
    for path in sorted(root.rglob("data.mat")):
        cohort, participant = path.parent.parent.name, path.parent.name
        data = loadmat(path, simplify_cells=True)["data"]
        for test, trials in data.get("TimeMeasure1", {}).items():
            if not isinstance(trials, dict):
                continue
            for trial, content in trials.items():
                try:
                    wbs = content["Standards"]["INDIP"]["ContinuousWalkingPeriod"]
                except (KeyError, TypeError):
                    continue
                for wb in [wbs] if isinstance(wbs, dict) else list(wbs):
                    bouts.append(((f"{cohort}/{participant}/{test}/{trial}", round(float(wb["Start"]), 3)), wb))
    return tuple(bouts)


def _reference_contacts_raw(root: Path) -> dict[tuple[str, float], tuple[np.ndarray, np.ndarray]]:
    """Each reference bout's contacts in walking order with NaN where INDIP could not time one, and
    their sides: (recording_id, start_s) -> (times, sides). A contact listed twice (< 50 ms apart) is one."""
    out: dict[tuple[str, float], tuple[np.ndarray, np.ndarray]] = {}
    for key, wb in _reference_bout_list(root):
        ic = np.atleast_1d(np.asarray(wb["InitialContact_Event"], dtype=float)).ravel()
        sides = np.atleast_1d(np.asarray(wb.get("InitialContact_LeftRight", []), dtype=object)).ravel()
        sides = sides.astype(str) if sides.size == ic.size else None
        prev = np.concatenate([[np.nan], ic[:-1]])
        keep = ~(np.isfinite(ic) & np.isfinite(prev) & (np.abs(ic - prev) < 0.05))
        out[key] = (ic[keep], None if sides is None else sides[keep])
    return out


def _diagnose_bout(det: np.ndarray, bout, n_slots: int | None) -> dict:
    """Why a bout scores as it does: edge contacts, misses, extras, and the reference's own spread."""
    ref = bout.ic_times_s
    inside = contacts_in_window(det, bout.start_s, bout.end_s)
    near = contacts_in_window(det, bout.start_s - TOLERANCE_S, bout.end_s + TOLERANCE_S)
    ref_cad = bout.cadence_spm
    err = lambda c: abs(c - ref_cad) / ref_cad * 100 if np.isfinite(c) else float("nan")  # noqa: E731
    cad_det = cadence_spm(inside)
    padded = contacts_in_window(det, bout.start_s - 0.1, bout.end_s + 0.1)
    slot_cad = (n_slots - 1) / (bout.end_s - bout.start_s) * 60 if n_slots else float("nan")
    # Which detections match which reference contacts (one-to-one, nearest first).
    matched_det, matched_ref = set(), set()
    pairs = sorted(
        ((abs(d - r), i, j) for i, d in enumerate(near) for j, r in enumerate(ref) if abs(d - r) <= TOLERANCE_S)
    )
    for _, i, j in pairs:
        if i not in matched_det and j not in matched_ref:
            matched_det.add(i)
            matched_ref.add(j)
    in_holes = _inside_reference_gaps(near, ref)
    extra = [float(near[i]) for i in range(near.size) if i not in matched_det and not in_holes[i]]
    missed = [float(ref[j]) for j in range(ref.size) if j not in matched_ref]
    causes = []
    edge_dt_ms = {}
    for label, t in (("first", ref[0]), ("last", ref[-1])):
        k = int(np.argmin(np.abs(det - t))) if det.size else -1
        dt_ms = (det[k] - t) * 1000 if k >= 0 else float("nan")
        edge_dt_ms[label] = float(dt_ms) if np.isfinite(dt_ms) and abs(dt_ms) <= TOLERANCE_S * 1000 else float("nan")
        if not np.isfinite(dt_ms) or abs(dt_ms) > TOLERANCE_S * 1000:
            causes.append(f"{label} contact missed")
        elif not bout.start_s <= det[k] <= bout.end_s:
            causes.append(f"{label} contact {dt_ms:+.0f} ms, outside the window")
    if missed:
        causes.append("missed " + ", ".join(f"{t:.2f}" for t in missed))
    if extra:
        causes.append("extra " + ", ".join(f"{t:.2f}" for t in extra))
    if in_holes.any():
        causes.append(f"{int(in_holes.sum())} in reference holes")
    if np.isfinite(slot_cad) and err(slot_cad) > 2.5:
        causes.append(f"reference steps/time {err(slot_cad):.1f} % off its stride-mean cadence")
    return {
        "start_s": float(bout.start_s),
        "duration_s": float(bout.end_s - bout.start_s),
        "reference_cadence_spm": float(ref_cad),
        "n_reference_ic": int(ref.size),
        "n_reference_steps_with_nan": n_slots,
        "n_detected": int(inside.size),
        "cadence_detected_spm": cad_det,
        "cadence_reference_ic_spm": cadence_spm(ref),
        "cadence_reference_steps_spm": slot_cad,
        "error_pct": err(cad_det),
        "error_window_padded_100ms_pct": err(cadence_spm(padded)),
        "error_reference_steps_pct": err(slot_cad),
        "first_contact_dt_ms": edge_dt_ms["first"],
        "last_contact_dt_ms": edge_dt_ms["last"],
        "causes": causes,
        "reference_ic_times_s": [round(float(t), 2) for t in ref],
        "detected_ic_times_s": [round(float(t), 2) for t in contacts_in_window(det, bout.start_s - 1, bout.end_s + 1)],
    }


def _print_diagnosis(row: dict) -> None:
    print(f"\nPer bout, {row['method']} at {row['rate_hz']:.0f} Hz (cadence steps/min; error % vs reference)")
    head = (
        f"{'recording':<22}{'start s':>8}{'dur s':>6}{'ref':>6}{'ICs':>4}{'steps':>6}{'det':>4}"
        f"{'det cad':>8}{'err %':>6}{'±0.1s':>6}{'ref-IC cad':>11}{'ref-step cad':>13}{'err %':>6}  causes"
    )
    print(head)
    print("-" * len(head))
    for b in row["bouts"]:
        print(
            f"{b['recording_id']:<22}{b['start_s']:>8.2f}{b['duration_s']:>6.1f}{b['reference_cadence_spm']:>6.1f}"
            f"{b['n_reference_ic']:>4}{b['n_reference_steps_with_nan'] or 0:>6}{b['n_detected']:>4}"
            f"{_fmt(b['cadence_detected_spm'], '.1f'):>8}{_fmt(b['error_pct'], '.1f'):>6}"
            f"{_fmt(b['error_window_padded_100ms_pct'], '.1f'):>6}{_fmt(b['cadence_reference_ic_spm'], '.1f'):>11}"
            f"{_fmt(b['cadence_reference_steps_spm'], '.1f'):>13}{_fmt(b['error_reference_steps_pct'], '.1f'):>6}"
            f"  {'; '.join(b['causes'])}"
        )
        print(f"{'':<24}ref {' '.join(f'{t:.2f}' for t in b['reference_ic_times_s'])}")
        print(f"{'':<24}det {' '.join(f'{t:.2f}' for t in b['detected_ic_times_s'])}")


def _fmt(value: float, spec: str = ".2f") -> str:
    return "n/a" if value is None or not np.isfinite(value) else format(value, spec)


def print_tables(result: dict, *, verbose: bool = False) -> None:
    print(f"Lower back (mobgap_lab, INDIP reference) — data: {result['data_dir']}")
    print("Fair rule: stretches the reference timed completely (all timed, alternating, no step > 1.5x median, "
          ">= 8 contacts); old rule = whole-bout reference cadence")
    head = (f"{'method':<32}{'Hz':>5}{'stretches':>10}  {'fair cad err % mean/med/max':<28}{'fair F1':>8}"
            f"{'det/slots':>10}  {'old rule % mean/med':<20}{'x real time':>12}")
    print(head)
    print("-" * len(head))
    for row in result["lower_back"]:
        f, c = row["stretch_cadence_error"], row["cadence_error"]
        print(f"{row['method']:<32}{row['rate_hz']:>5.0f}{row['n_stretches']:>10}  "
              f"{_fmt(f['mean_pct']) + ' / ' + _fmt(f['median_pct']) + ' / ' + _fmt(f['max_pct'], '.1f'):<28}"
              f"{_fmt(row['stretch_ic_f1'], '.3f'):>8}{_fmt(row['detections_per_slot'], '.3f'):>10}  "
              f"{_fmt(c['mean_pct']) + ' / ' + _fmt(c['median_pct']):<20}{_fmt(row['x_real_time'], '.0f'):>12}")
    if not result["mobgap_available"]:
        print("mobgap is not installed in this environment: its rows (IcdShinImproved, IcdHKLeeImproved) are absent; "
              "pip install -e '.[bench]' to compare against it.")
    print()
    head = (
        f"{'method':<32}{'Hz':>5}{'bouts':>6}  {'cad err % mean/med/max':<24}{'own-cad % mean/med':<20}"
        f"{'IC F1':>6}{'F1 no-gap':>10}{'bias ms':>8}{'det/ref':>9}{'x real time':>13}"
    )
    print(head)
    print("-" * len(head))
    for row in result["lower_back"]:
        c, o = row["cadence_error"], row["own_cadence_error"]
        print(
            f"{row['method']:<32}{row['rate_hz']:>5.0f}{row['n_bouts']:>6}  "
            f"{_fmt(c['mean_pct']) + ' / ' + _fmt(c['median_pct']) + ' / ' + _fmt(c['max_pct'], '.1f'):<24}"
            f"{_fmt(o['mean_pct']) + ' / ' + _fmt(o['median_pct']):<20}"
            f"{_fmt(row['ic_f1'], '.3f'):>6}{_fmt(row['ic_f1_outside_reference_gaps'], '.3f'):>10}"
            f"{_fmt(row['ic_bias_ms'], '.0f'):>8}"
            f"{str(row['n_detected']) + '/' + str(row['n_reference']):>9}{_fmt(row['x_real_time'], '.0f'):>13}"
        )
    print("\nCadenza, bouts split by detected contacts (< 8 gets the low-confidence flag): cad err % mean/median")
    for row in result["lower_back"]:
        if row["method"].startswith("cadenza"):
            lo, hi = row["cadence_error_bouts_lt8_detected"], row["cadence_error_bouts_ge8_detected"]
            print(
                f"  {row['rate_hz']:.0f} Hz: >= 8 contacts {_fmt(hi['mean_pct'])} / {_fmt(hi['median_pct'])}"
                f";  < 8 contacts {_fmt(lo['mean_pct'])} / {_fmt(lo['median_pct'])}"
            )
    for row in result["lower_back"]:
        if "reference_steps_cadence_error" in row:
            r, pad = row["reference_steps_cadence_error"], row["cadence_error_window_padded_100ms"]
            print(
                f"  {row['rate_hz']:.0f} Hz: window padded by 0.1 s {_fmt(pad['mean_pct'])} / {_fmt(pad['median_pct'])}; "
                f"first / last reference contact detected {_fmt(row['first_contact_dt_ms_median'], '+.0f')} / "
                f"{_fmt(row['last_contact_dt_ms_median'], '+.0f')} ms (median); the reference's own step count "
                f"(NaN contacts counted) scored by the rule: {_fmt(r['mean_pct'])} / {_fmt(r['median_pct'])}"
            )
    if result.get("speeds"):
        print("\nWalking speed: the lower-back recordings replayed k times slower (k < 1: faster), 100 Hz")
        head = f"{'method':<32}{'k':>5}  {'cad err % mean/med/max':<24}{'IC F1':>6}"
        print(head)
        print("-" * len(head))
        for row in result["speeds"]:
            c = row["cadence_error"]
            print(f"{row['method']:<32}{row['slowdown']:>5.2f}  "
                  f"{_fmt(c['mean_pct']) + ' / ' + _fmt(c['median_pct']) + ' / ' + _fmt(c['max_pct'], '.1f'):<24}"
                  f"{_fmt(row['ic_f1'], '.3f'):>6}")
    if verbose:
        for row in result["lower_back"]:
            if "bouts" in row:
                _print_diagnosis(row)
    if result["foot"]:
        print("\nFoot-mounted (gaitmap_healthy, motion-capture reference)")
        head = f"{'method':<28}{'Hz':>7}{'bouts':>6}  {'cad err % mean/max':<20}{'IC F1':>6}{'bias ms':>9}{'sd ms':>7}{'det/ref':>9}{'x real time':>13}"
        print(head)
        print("-" * len(head))
        for row in result["foot"]:
            c = row["cadence_error"]
            print(
                f"{row['method']:<28}{row['rate_hz']:>7.1f}{row['n_bouts']:>6}  "
                f"{_fmt(c['mean_pct']) + ' / ' + _fmt(c['max_pct']):<20}{_fmt(row['ic_f1'], '.3f'):>6}"
                f"{_fmt(row['ic_bias_ms'], '.1f'):>9}{_fmt(row['ic_timing_sd_ms'], '.1f'):>7}"
                f"{str(row['n_detected']) + '/' + str(row['n_reference']):>9}{_fmt(row['x_real_time'], '.0f'):>13}"
            )
    if not result["mobgap_available"]:
        print("\nmobgap is not installed: pip install -e '.[bench]' to compare against it.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--rates", default="100,50", help="lower-back rates in Hz (comma-separated)")
    parser.add_argument("--verbose", action="store_true", help="per-bout diagnosis of the lower-back detector")
    parser.add_argument("--speeds", default="", help="also replay the lower-back data k times slower, e.g. 0.8,1.2,1.4")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"data folder {data_dir} does not exist", file=sys.stderr)
        return 2
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    result = {
        "data_dir": str(data_dir),
        "tolerance_s": TOLERANCE_S,
        "mobgap_available": bool(_mobgap_detectors()),
        "lower_back": bench_lower_back(data_dir, rates),
        "foot": bench_foot(data_dir, [r for r in rates if r != NATIVE_RATE_HZ] or [50.0]),
        "speeds": bench_speeds(data_dir, [float(k) for k in args.speeds.split(",") if k.strip()]),
    }
    if args.json:
        print(json.dumps(_nan_to_none(result)))
    else:
        print_tables(result, verbose=args.verbose)
    return 0


def _nan_to_none(value):
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


if __name__ == "__main__":
    sys.exit(main())
