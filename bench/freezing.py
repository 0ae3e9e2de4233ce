"""Freezing-of-gait benchmark: Cadenza's FreezeDetector against the Moore freeze index, same run, same files.

Usage: ``python bench/freezing.py [DAPHNET_DIR] [--json] [--spec-floor 0.92]``

DAPHNET_DIR defaults to ``../shared/data/gait/daphnet/`` and may be any folder of Daphnet
``S<ss>R<rr>.txt`` files (runs of one subject are pooled, as the dataset asks).

**Subjects.** The shipped parameters (the detectors' defaults) were tuned on the development
subjects :data:`DEV_SUBJECTS` only. Three evaluations, reported apart:

* *development*: the shipped parameters on the development subjects (in-sample);
* *leave-one-subject-out*: for each development subject, the thresholds are re-tuned on the other
  development subjects by the rule below and scored on the one left out; the left-out subjects'
  results are pooled (the user-independent estimate the development data can give). The fixed design
  choices (bands, window, standing floors, reference time constant) were made looking at all
  development subjects, so this estimate is optimistic about them;
* *held-out*: the shipped parameters on every other subject in the folder (none in the shared copy:
  S02 and S07 are kept back by the project).

**Tuning rule.** Over a small grid (FreezeDetector: ``threshold``, ``release_threshold``,
``min_freeze_s``; baseline: freeze-index and power thresholds), keep the settings whose pooled
per-window specificity on the training subjects is at least ``--spec-floor``; among them, the most
sensitive per episode, then the lowest threshold (the most sensitive setting that keeps the floor).
Specificity rests on thousands of windows, sensitivity on a dozen episodes, so the threshold is set
by the better-measured figure.

**Scoring**, inside the protocol only (annotation 1 and 2; 0 is set-up and debriefing):

* per-episode sensitivity: an annotated freeze (a maximal run of label 2) is detected if a detected
  interval overlaps it and started no earlier than 2 s before its onset (a false alarm running on
  into a freeze does not count);
* detection latency: the start (decision time) of the first such interval minus the onset; the
  median over detected episodes (negative = the detector fired before the annotated onset);
* per-window specificity: the 0.5-s windows wholly labelled 1 (no freeze), and the share of them
  not covered more than half by a detected interval. Intervals are in decision time, so the
  detector's lag at the end of a freeze counts against it here.
* per-window sensitivity (for information): the 0.5-s windows wholly labelled 2 that are covered.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadenza.gait.freezing import (
    PLACEMENTS,
    FreezeDetector,
    FreezeIndexDetector,
    decide_freeze_events,
    events_to_intervals,
    flags_to_intervals,
)
from cadenza.io.daphnet import DaphnetRecording, find_daphnet_files, load_daphnet

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gait" / "daphnet"
DEV_SUBJECTS = ("S01", "S03", "S06")  # the subjects whose data tuned the shipped parameters
SEGMENT_S = 0.5
EARLY_TOLERANCE_S = 2.0
TARGETS = {"sensitivity": 0.85, "specificity": 0.85, "latency_s": 1.5}

DETECTOR_GRID = [
    {"threshold": th, "release_threshold": round(th - d, 3), "min_freeze_s": m}
    for th in [round(float(v), 3) for v in np.arange(0.1, 0.81, 0.05)] for d in (0.0, 0.1, 0.2) for m in (0.0, 0.5)
]
BASELINE_GRID = [
    {"freeze_index_threshold": th, "power_threshold_log10": p}
    for th in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0) for p in (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)
]
# Which sensors each method reads: the detector on every placement and each one alone, the baseline
# on one sensor at a time (Moore's and Bächlin's were single-sensor).
DETECTOR_SETS = [("shank", "thigh", "lower-back"), ("shank",), ("thigh",), ("lower-back",)]


@dataclass
class Counts:
    """Pooled tallies from which the figures are computed."""

    episodes: int = 0
    detected: int = 0
    negative_windows: int = 0
    false_windows: int = 0
    freeze_windows: int = 0
    covered_windows: int = 0
    latencies_s: list | None = None
    intervals: int = 0
    frozen_s: float = 0.0
    annotated_frozen_s: float = 0.0

    def add(self, other: "Counts") -> "Counts":
        return Counts(self.episodes + other.episodes, self.detected + other.detected,
                      self.negative_windows + other.negative_windows, self.false_windows + other.false_windows,
                      self.freeze_windows + other.freeze_windows, self.covered_windows + other.covered_windows,
                      (self.latencies_s or []) + (other.latencies_s or []), self.intervals + other.intervals,
                      self.frozen_s + other.frozen_s, self.annotated_frozen_s + other.annotated_frozen_s)

    def figures(self) -> dict:
        lat = self.latencies_s or []
        return {
            "sensitivity": round(self.detected / self.episodes, 3) if self.episodes else None,
            "specificity": round(1 - self.false_windows / self.negative_windows, 3) if self.negative_windows else None,
            "median_latency_s": round(float(np.median(lat)), 2) if lat else None,
            "window_sensitivity": round(self.covered_windows / self.freeze_windows, 3) if self.freeze_windows else None,
            "episodes_detected": f"{self.detected}/{self.episodes}",
            "negative_windows": self.negative_windows,
            # as outcomes: episodes counted and time frozen inside the protocol, detected vs annotated
            "episodes_counted": self.intervals,
            "time_frozen_s": round(self.frozen_s, 1),
            "annotated_time_frozen_s": round(self.annotated_frozen_s, 1),
        }


def score_intervals(intervals_s: np.ndarray, rec: DaphnetRecording) -> Counts:
    """Score detected [start_s, end_s] intervals against one recording's annotation (see module doc)."""
    rate = rec.sampling_rate_hz
    episodes = rec.freeze_episodes_s
    detected, latencies = 0, []
    for onset, end in episodes:
        starts = [s for s, e in intervals_s if s < end and e > onset and s >= onset - EARLY_TOLERANCE_S]
        if starts:
            detected += 1
            latencies.append(float(min(starts) - onset))
    n = rec.n_samples
    covered = np.zeros(n, dtype=bool)
    for s, e in intervals_s:
        covered[int(max(0, round(s * rate))):int(min(n, round(e * rate)))] = True
    seg = int(round(SEGMENT_S * rate))
    k = n // seg
    labels = rec.annotation[: k * seg].reshape(k, seg)
    cover = covered[: k * seg].reshape(k, seg).mean(axis=1) > 0.5
    negative = np.all(labels == 1, axis=1)
    freeze = np.all(labels == 2, axis=1)
    inside = rec.in_protocol
    starts_inside = sum(1 for s, _ in intervals_s if inside[min(n - 1, int(round(s * rate)))])
    return Counts(len(episodes), detected, int(negative.sum()), int((negative & cover).sum()),
                  int(freeze.sum()), int((freeze & cover).sum()), latencies, starts_inside,
                  float(np.sum(covered & inside)) / rate, float(np.sum(rec.annotation == 2)) / rate)


# -- per-file precomputation: scores do not depend on the thresholds, only the decisions do ----------

def detector_scores(rec: DaphnetRecording, placements: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    det = FreezeDetector().detect({p: rec.acc_m_s2[p] for p in placements}, sampling_rate_hz=rec.sampling_rate_hz)
    return det.window_times_s_, det.scores_


def detector_intervals(times_s: np.ndarray, scores: np.ndarray, params: dict) -> np.ndarray:
    events = decide_freeze_events(times_s, scores, hop_s=FreezeDetector().hop_s, **params)
    return events_to_intervals(events)


def baseline_windows(rec: DaphnetRecording, placement: str) -> FreezeIndexDetector:
    return FreezeIndexDetector(placement=placement).detect(rec.acc_m_s2, sampling_rate_hz=rec.sampling_rate_hz)


def baseline_intervals(base: FreezeIndexDetector, params: dict) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        frozen = (base.scores_ > params["freeze_index_threshold"]) & (
            np.log10(base.power_m2_s4_) > params["power_threshold_log10"])
    return flags_to_intervals(base.window_times_s_, frozen)


def _pooled(files: list[str], run: Callable[[str], Counts]) -> Counts:
    total = Counts(latencies_s=[])
    for name in files:
        total = total.add(run(name))
    return total


def tune(files: list[str], grid: list[dict], run: Callable[[str, dict], Counts], spec_floor: float) -> dict:
    best_key, best = None, None
    for params in grid:
        fig = _pooled(files, lambda f, p=params: run(f, p)).figures()
        spec, sens = fig["specificity"] or 0.0, fig["sensitivity"] or 0.0
        first = next(iter(params.values()))
        key = (spec >= spec_floor, sens, -first, -params.get("min_freeze_s", 0.0), spec)
        if best_key is None or key > best_key:
            best_key, best = key, params
    return dict(best)


def evaluate(data_dir: Path, spec_floor: float) -> dict:
    t0 = time.perf_counter()
    recordings = {p.stem: load_daphnet(p) for p in find_daphnet_files(data_dir)}
    subjects: dict[str, list[str]] = {}
    for name, rec in recordings.items():
        subjects.setdefault(rec.subject_id, []).append(name)
    dev = [s for s in subjects if s in DEV_SUBJECTS]
    held = [s for s in subjects if s not in DEV_SUBJECTS]
    files_of = lambda subs: [f for s in subs for f in subjects[s]]  # noqa: E731

    methods: dict[str, dict] = {}
    for placements in DETECTOR_SETS:
        cache = {name: detector_scores(rec, placements) for name, rec in recordings.items()}
        label = f"FreezeDetector {'+'.join(placements)}"
        methods[label] = {
            "grid": DETECTOR_GRID,
            "shipped": FreezeDetector().decision_parameters(placements),
            "run": lambda f, p, c=cache: score_intervals(detector_intervals(*c[f], p), recordings[f]),
        }
    for placement in PLACEMENTS:
        cache = {name: baseline_windows(rec, placement) for name, rec in recordings.items()}
        methods[f"freeze index (baseline) {placement}"] = {
            "grid": BASELINE_GRID,
            "shipped": FreezeIndexDetector(placement=placement).thresholds(),
            "run": lambda f, p, c=cache: score_intervals(baseline_intervals(c[f], p), recordings[f]),
        }
    out = {"data_dir": str(data_dir), "development_subjects": dev, "held_out_subjects": held,
           "files": {s: subjects[s] for s in subjects}, "spec_floor": spec_floor, "targets": TARGETS,
           "methods": {}}
    for label, m in methods.items():
        run = m["run"]
        row: dict = {"shipped_parameters": m["shipped"]}
        row["development"] = _pooled(files_of(dev), lambda f, r=run, p=m["shipped"]: r(f, p)).figures()
        row["tuned_on_development"] = tune(files_of(dev), m["grid"], run, spec_floor) if dev else None
        folds, pooled = {}, Counts(latencies_s=[])
        for left_out in dev:
            train = files_of([s for s in dev if s != left_out])
            params = tune(train, m["grid"], run, spec_floor)
            counts = _pooled(subjects[left_out], lambda f, r=run, p=params: r(f, p))
            folds[left_out] = {"parameters": params, **counts.figures()}
            pooled = pooled.add(counts)
        row["leave_one_subject_out"] = {"pooled": pooled.figures(), "folds": folds}
        row["held_out"] = (_pooled(files_of(held), lambda f, r=run, p=m["shipped"]: r(f, p)).figures()
                           if held else None)
        out["methods"][label] = row
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _fmt(v) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def _print_table(title: str, rows: list[tuple[str, dict | None]]) -> None:
    print(title)
    print(f"| {'method':<44} | sensitivity (episodes) | specificity (windows) | median latency s | window sens "
          "| episodes counted / annotated | s frozen / annotated |")
    print(f"|{'-' * 46}|---|---|---|---|---|---|")
    for label, fig in rows:
        if fig is None:
            continue
        print(f"| {label:<44} | {_fmt(fig['sensitivity'])} ({fig['episodes_detected']}) | "
              f"{_fmt(fig['specificity'])} (n={fig['negative_windows']}) | {_fmt(fig['median_latency_s'])} | "
              f"{_fmt(fig['window_sensitivity'])} | {fig['episodes_counted']} / {fig['episodes_detected'].split('/')[1]} "
              f"| {fig['time_frozen_s']} / {fig['annotated_time_frozen_s']} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--spec-floor", type=float, default=0.92)
    args = parser.parse_args()
    result = evaluate(args.data_dir, args.spec_floor)
    if args.json:
        print(json.dumps(result))
        return
    methods = result["methods"]
    print(f"Daphnet freezing of gait, {args.data_dir}; development subjects {result['development_subjects']}, "
          f"held-out {result['held_out_subjects'] or 'none present'}; targets on held-out: sensitivity >= 0.85, "
          "specificity >= 0.85, median latency <= 1.5 s\n")
    _print_table("Held-out subjects (shipped parameters)",
                 [(k, v["held_out"]) for k, v in methods.items()])
    _print_table("Leave-one-subject-out over the development subjects (re-tuned without the subject, pooled)",
                 [(k, v["leave_one_subject_out"]["pooled"]) for k, v in methods.items()])
    _print_table("Development subjects (shipped parameters, in-sample)",
                 [(k, v["development"]) for k, v in methods.items()])
    print("Per fold (left-out subject: parameters tuned without it -> sensitivity, specificity, latency)")
    for k, v in methods.items():
        folds = "; ".join(f"{s}: {f['parameters']} -> {_fmt(f['sensitivity'])}, {_fmt(f['specificity'])}, "
                          f"{_fmt(f['median_latency_s'])}" for s, f in v["leave_one_subject_out"]["folds"].items())
        print(f"  {k}: {folds}")
    print("\nTuned on all development subjects (compare with the shipped defaults):")
    for k, v in methods.items():
        print(f"  {k}: tuned {v['tuned_on_development']}, shipped {v['shipped_parameters']}")
    print(f"\n{result['seconds']} s")


if __name__ == "__main__":
    main()
