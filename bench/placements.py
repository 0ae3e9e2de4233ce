"""Where the sensor is worn: the live step stream and the freeze detector on Daphnet's shank, thigh and lower-back
sensors, each turned by random orientations (a phone in a trouser pocket sits on the thigh, any way round).

Usage: ``python bench/placements.py [DAPHNET_DIR] [--rotations 3] [--step-rotations 1] [--json]``

DAPHNET_DIR defaults to ``../shared/data/gait/daphnet/`` (S02 and S07 are kept back by the project, so
every figure here is development data). Each recording's three sensors are turned by ``--rotations``
random rotations (seeded, uniform over all orientations, one per copy, the same for the whole recording:
the phone does not turn in the pocket).

**Steps.** The live path (``gait/stream.py``: 100 Hz grid, release 2 s after the step, detector every
250 ms) on the turned sensor, inside the protocol, against the offline detector (``LowerBackStepDetector``)
on the same sensor as recorded (one-to-one within 50 ms): does the live path find the offline steps
whatever the orientation? And against the offline detector on the lower-back sensor as recorded (within
100 ms): are a leg sensor's steps the walker's steps? No parameter of the step detector is tuned on these
data, so there is no separate cross-validated figure.

**Freezes.** ``FreezeDetector`` on the one turned sensor, scored as ``bench/freezing.py`` does
(per-episode sensitivity, per-window specificity, median latency), with the shipped per-placement
parameters (development, in-sample) and leave-one-subject-out (re-tuned on the other development
subjects by the same rule, pooled), side by side with the sensor as recorded and with the freeze-index
baseline on the turned sensor.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from freezing import (  # noqa: E402
    BASELINE_GRID,
    DETECTOR_GRID,
    DEV_SUBJECTS,
    Counts,
    _pooled,
    baseline_intervals,
    baseline_windows,
    detector_intervals,
    detector_scores,
    score_intervals,
    tune,
)

from cadenza.gait import LowerBackStepDetector, match_contacts  # noqa: E402
from cadenza.gait.freezing import PLACEMENTS, FreezeDetector, FreezeIndexDetector  # noqa: E402
from cadenza.gait.stream import StepStream  # noqa: E402
from cadenza.io.daphnet import DaphnetRecording, find_daphnet_files, load_daphnet  # noqa: E402

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gait" / "daphnet"
SEED = 20261207
LIVE_HOP_S = 0.25
BATCH_SAMPLES = 3  # ~50 ms at Daphnet's 64 Hz, as the page sends


def rotated(rec: DaphnetRecording, rotation: np.ndarray) -> DaphnetRecording:
    return dataclasses.replace(rec, acc_m_s2={p: rotation @ a for p, a in rec.acc_m_s2.items()})


def _f1(matched: list) -> float | None:
    tp = sum(m.n_true_positive for m in matched)
    fp = sum(m.n_false_positive for m in matched)
    fn = sum(m.n_false_negative for m in matched)
    return round(2 * tp / (2 * tp + fp + fn), 3) if tp + fp + fn else None


def live_steps(acc: np.ndarray, rate: float) -> np.ndarray:
    stream = StepStream(sampling_rate_hz=100.0, hop_s=LIVE_HOP_S)
    t = np.arange(acc.shape[-1]) / rate
    out = [stream.push(t[i:i + BATCH_SAMPLES], acc[:, i:i + BATCH_SAMPLES]) for i in range(0, t.size, BATCH_SAMPLES)]
    return np.concatenate(out + [stream.flush()])


def step_figures(recordings: dict[str, DaphnetRecording], rotations: dict[str, list[np.ndarray]]) -> dict:
    out = {}
    for placement in PLACEMENTS:
        own, trunk, counts, per_file = [], [], {"offline": 0, "live": 0, "lower_back_offline": 0}, {}
        for name, rec in recordings.items():
            first, last = np.flatnonzero(rec.in_protocol)[[0, -1]]
            inside = slice(first, last + 1)
            acc = rec.acc_m_s2[placement][:, inside]
            if not np.any(np.isfinite(acc)):
                per_file[name] = "sensor gave no data"
                continue
            rate = rec.sampling_rate_hz
            offline = LowerBackStepDetector().detect(acc, sampling_rate_hz=rate).ic_times_s_
            reference = LowerBackStepDetector().detect(rec.acc_m_s2["lower-back"][:, inside],
                                                       sampling_rate_hz=rate).ic_times_s_
            f_own, f_trunk = [], []
            for rotation in rotations[name]:
                live = live_steps(rotation @ acc, rate)
                own.append(match_contacts(live, offline, tolerance_s=0.05))
                trunk.append(match_contacts(live, reference, tolerance_s=0.1))
                f_own.append(_f1([own[-1]]))
                f_trunk.append(_f1([trunk[-1]]))
                counts["live"] += live.size
                counts["offline"] += offline.size
                counts["lower_back_offline"] += reference.size
            per_file[name] = {"live_vs_offline_f1": f_own, "live_vs_lower_back_f1": f_trunk}
        out[placement] = {"live_vs_offline_same_sensor_f1": _f1(own), "live_vs_lower_back_offline_f1": _f1(trunk),
                          "steps": counts, "per_file": per_file}
    return out


def freeze_figures(recordings: dict[str, DaphnetRecording], rotations: dict[str, list[np.ndarray]],
                   spec_floor: float) -> dict:
    subjects: dict[str, list[str]] = {}
    for name, rec in recordings.items():
        subjects.setdefault(rec.subject_id, []).append(name)
    dev = [s for s in subjects if s in DEV_SUBJECTS]
    n_rot = min(len(r) for r in rotations.values())
    copies = {f"{name}@{k}": rotated(rec, rotations[name][k]) for name, rec in recordings.items() for k in range(n_rot)}
    upright = {f"{name}@{k}": rec for name, rec in recordings.items() for k in range(n_rot)}
    files_of = lambda subs: [c for c in copies if c.split("@")[0] in {f for s in subs for f in subjects[s]}]  # noqa: E731
    out = {}
    for placement in PLACEMENTS:
        for label, data, kind in ((f"FreezeDetector {placement}, as worn", upright, "detector"),
                                  (f"FreezeDetector {placement}, turned", copies, "detector"),
                                  (f"freeze index (baseline) {placement}, turned", copies, "baseline")):
            if kind == "detector":
                cache = {c: detector_scores(rec, (placement,)) for c, rec in data.items()}
                run = lambda f, p, c=cache, d=data: score_intervals(detector_intervals(*c[f], p), d[f])  # noqa: E731
                grid, shipped = DETECTOR_GRID, FreezeDetector().decision_parameters((placement,))
            else:
                cache = {c: baseline_windows(rec, placement) for c, rec in data.items()}
                run = lambda f, p, c=cache, d=data: score_intervals(baseline_intervals(c[f], p), d[f])  # noqa: E731
                grid, shipped = BASELINE_GRID, FreezeIndexDetector(placement=placement).thresholds()
            development = _pooled(files_of(dev), lambda f, r=run, p=shipped: r(f, p)).figures()
            pooled = Counts(latencies_s=[])
            for left_out in dev:
                params = tune(files_of([s for s in dev if s != left_out]), grid, run, spec_floor)
                pooled = pooled.add(_pooled(files_of([left_out]), lambda f, r=run, p=params: r(f, p)))
            out[label] = {"development": development, "leave_one_subject_out": pooled.figures()}
    return out


def evaluate(data_dir: Path, *, n_rotations: int, n_step_rotations: int, spec_floor: float) -> dict:
    t0 = time.perf_counter()
    recordings = {p.stem: load_daphnet(p) for p in find_daphnet_files(data_dir)}
    rng = np.random.default_rng(SEED)
    rotations = {name: list(Rotation.random(n_rotations, random_state=rng).as_matrix()) for name in recordings}
    result = {"data_dir": str(data_dir), "rotations_per_recording": n_rotations, "seed": SEED,
              "freezes": freeze_figures(recordings, rotations, spec_floor),
              "steps": step_figures(recordings, {n: r[:n_step_rotations] for n, r in rotations.items()})}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def _fmt(v) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--rotations", type=int, default=3)
    parser.add_argument("--step-rotations", type=int, default=1)
    parser.add_argument("--spec-floor", type=float, default=0.92)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = evaluate(args.data_dir, n_rotations=args.rotations, n_step_rotations=min(args.step_rotations, args.rotations),
                      spec_floor=args.spec_floor)
    if args.json:
        print(json.dumps(result))
        return
    print(f"Daphnet development subjects, each sensor turned by {args.rotations} random orientations per recording "
          f"(seed {SEED})\n")
    print("| freezes | dev sensitivity | dev specificity | dev latency s | LOSO sensitivity | LOSO specificity "
          "| LOSO latency s |")
    print("|---|---|---|---|---|---|---|")
    for label, row in result["freezes"].items():
        d, c = row["development"], row["leave_one_subject_out"]
        print(f"| {label} | {_fmt(d['sensitivity'])} ({d['episodes_detected']}) | {_fmt(d['specificity'])} | "
              f"{_fmt(d['median_latency_s'])} | {_fmt(c['sensitivity'])} ({c['episodes_detected']}) | "
              f"{_fmt(c['specificity'])} | {_fmt(c['median_latency_s'])} |")
    print(f"\n| steps (live, turned {args.step_rotations}x) | F1 vs offline, same sensor (50 ms) | "
          "F1 vs offline lower back (100 ms) | live / offline / lower-back steps |")
    print("|---|---|---|---|")
    for placement, row in result["steps"].items():
        n = row["steps"]
        print(f"| {placement} | {_fmt(row['live_vs_offline_same_sensor_f1'])} | "
              f"{_fmt(row['live_vs_lower_back_offline_f1'])} | {n['live']} / {n['offline']} / {n['lower_back_offline']} |")
    print(f"\n{result['seconds']} s")


if __name__ == "__main__":
    main()
