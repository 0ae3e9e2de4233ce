"""Freeze episodes per walk: merged detections against the Daphnet annotations, beside the raw counts.

Usage: ``python bench/freeze_episodes.py [DAPHNET_DIR] [--json]``

Counts freezes per recording inside the protocol (annotation 1 and 2). Each annotated freeze is a
maximal run of label-2 samples. Columns, all from one run:

* FreezeDetector (all sensors) raw: every detected interval counted as an episode (what the detector
  alone gives);
* the freeze-index baseline (lower back) raw: the same for the Moore freeze index, the named peer;
* merged: ``cadenza.gait.episodes.merge_freeze_episodes`` with the shipped defaults (gaps <= 1 s
  joined, episodes >= 4 s kept), applied to both detectors;
* leave-one-subject-out: gap and minimum duration chosen on the other development subjects (least total
  |count error| over a grid), then applied to the subject left out.

Also: how many annotated freezes a merged episode still overlaps (the merge must not hide them).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from cadenza.gait.episodes import EPISODE_MAX_GAP_S, EPISODE_MIN_DURATION_S, merge_freeze_episodes
from cadenza.gait.freezing import FreezeDetector, FreezeIndexDetector
from cadenza.io.daphnet import find_daphnet_files, load_daphnet

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gait" / "daphnet"
GRID = list(itertools.product([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0]))


def _in_protocol(intervals: np.ndarray, rec) -> np.ndarray:
    idx = np.minimum((intervals[:, 0] * rec.sampling_rate_hz).astype(int), rec.n_samples - 1)
    return intervals[rec.in_protocol[idx]] if intervals.size else intervals.reshape(-1, 2)


def _count(intervals: np.ndarray, gap_s: float, min_s: float) -> int:
    return int(merge_freeze_episodes(intervals, max_gap_s=gap_s, min_duration_s=min_s).shape[0])


def evaluate(folder: Path) -> dict:
    rows = []
    for path in find_daphnet_files(folder):
        rec = load_daphnet(path)
        det = _in_protocol(FreezeDetector().detect(rec.acc_m_s2, sampling_rate_hz=rec.sampling_rate_hz)
                           .freeze_intervals_s_, rec)
        base = _in_protocol(FreezeIndexDetector(placement="lower-back").detect(
            rec.acc_m_s2["lower-back"], sampling_rate_hz=rec.sampling_rate_hz, placement="lower-back")
            .freeze_intervals_s_, rec)
        annotated = rec.freeze_episodes_s
        merged = merge_freeze_episodes(det)
        found = sum(any(m[0] <= b + 1.5 and m[1] >= a for m in merged) for a, b in annotated)
        rows.append({"recording": path.name, "subject": rec.subject_id, "annotated": int(annotated.shape[0]),
                     "detector_raw": int(det.shape[0]), "detector_merged": int(merged.shape[0]),
                     "baseline_raw": int(base.shape[0]), "baseline_merged": _count(base, EPISODE_MAX_GAP_S,
                                                                                   EPISODE_MIN_DURATION_S),
                     "annotated_still_found": int(found), "_det": det})
    for row in rows:  # leave-one-subject-out choice of the merge
        train = [r for r in rows if r["subject"] != row["subject"]]
        gap, min_s = min(GRID, key=lambda gm: (sum(abs(_count(r["_det"], *gm) - r["annotated"]) for r in train), gm))
        row["loso_merged"], row["loso_gap_s"], row["loso_min_s"] = _count(row["_det"], gap, min_s), gap, min_s
    for row in rows:
        del row["_det"]
    total = {k: sum(abs(r[k] - r["annotated"]) for r in rows)
             for k in ("detector_raw", "detector_merged", "baseline_raw", "baseline_merged", "loso_merged")}
    return {"rows": rows, "total_abs_count_error": total,
            "annotated_found_after_merge": [sum(r["annotated_still_found"] for r in rows),
                                            sum(r["annotated"] for r in rows)],
            "defaults": {"max_gap_s": EPISODE_MAX_GAP_S, "min_duration_s": EPISODE_MIN_DURATION_S}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = evaluate(args.folder)
    if args.json:
        print(json.dumps(result))
        return
    head = ("recording", "annotated", "detector_raw", "detector_merged", "baseline_raw", "baseline_merged",
            "loso_merged")
    print(" | ".join(head))
    for r in result["rows"]:
        print(" | ".join(str(r[k]) for k in head))
    print("total |count - annotated|:", result["total_abs_count_error"])
    print("annotated freezes still overlapped by a merged episode: %d/%d" % tuple(result["annotated_found_after_merge"]))


if __name__ == "__main__":
    main()
