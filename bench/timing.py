"""Onset benchmark: Cadenza's percussive onsets side by side with librosa's onset detector, in one run.

Usage: ``python bench/timing.py [DATA_DIR] [--json] [--verbose] [--repeats N]``

DATA_DIR (default ``../shared/data/timing/`` next to the repo) holds the four-way tabla folder. Its
``train`` clips are the development part (parameters were chosen on them); its ``test`` clips are held
out and reported apart. Scoring: onset F-measure at +-50 ms (``mir_eval.onset.f_measure``, pooled over a
part's clips), then over the matched pairs the median |error| and the median signed error (ms; positive
= detected after the annotation). "offset removed" subtracts from the held-out errors the method's own
median signed error on the development part (a constant measured once, like a latency calibration).

A second table uses synthetic hits whose first sample is known exactly (a click, a drum-like thump and a
clap-like burst; 16, 44.1 and 48 kHz; 20 hits each, levels 0.3-1.0, noise at -60 dB): it shows which
instant each method reports. Methods:

* ``cadenza``: :func:`cadenza.timing.detect_onsets` (spectral flux, each onset refined to its attack);
* ``cadenza-spectral``: the same detections, ``instant="spectral"`` (the flux peak between frames: where
  onset datasets annotate a hit, several ms before the sound);
* ``cadenza-frame``: ``instant="frame"`` (the flux peak on the 5-ms grid);
* ``librosa``: ``librosa.onset.onset_detect(y=..., sr=..., units="time")`` with its default settings.

Leave-one-recording-out cross-validation (``cv`` in the JSON, a third table): for each clip, the
detection threshold is chosen from a small grid (0.10, 0.13, 0.16) by F-measure on the other clips,
and the method's median signed error there is the offset for "offset removed"; the clip is then scored.

Compute counts analysis only (not decoding), best of ``--repeats`` runs, in seconds per audio minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "timing"
WINDOW_S = 0.05
PARTS = (("development", "train"), ("held-out", "test"))


def run_cadenza(samples: np.ndarray, sr: int) -> np.ndarray:
    from cadenza.timing import detect_onsets

    return detect_onsets(samples, sampling_rate_hz=sr)


def run_cadenza_spectral(samples: np.ndarray, sr: int) -> np.ndarray:
    from cadenza.timing import detect_onsets

    return detect_onsets(samples, sampling_rate_hz=sr, instant="spectral")


def run_cadenza_frame(samples: np.ndarray, sr: int) -> np.ndarray:
    from cadenza.timing import detect_onsets

    return detect_onsets(samples, sampling_rate_hz=sr, instant="frame")


def run_librosa(samples: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    return librosa.onset.onset_detect(y=np.asarray(samples, dtype=np.float32), sr=sr, units="time")


METHODS = {"cadenza": run_cadenza, "cadenza-spectral": run_cadenza_spectral, "cadenza-frame": run_cadenza_frame,
           "librosa": run_librosa}
CV_INSTANTS = ("attack", "spectral")
CV_THRESHOLDS = (0.10, 0.13, 0.16)


def score_clip(reference_s: np.ndarray, found_s: np.ndarray) -> dict:
    import mir_eval

    pairs = mir_eval.util.match_events(reference_s, found_s, WINDOW_S)
    errors_ms = [float(found_s[j] - reference_s[i]) * 1000 for i, j in pairs]
    return {"n_reference": int(reference_s.size), "n_found": int(found_s.size), "n_matched": len(pairs),
            "errors_ms": errors_ms}


def pooled(scores: list[dict], offset_ms: float | None = None) -> dict:
    tp = sum(s["n_matched"] for s in scores)
    n_ref = sum(s["n_reference"] for s in scores)
    n_found = sum(s["n_found"] for s in scores)
    precision = tp / n_found if n_found else 0.0
    recall = tp / n_ref if n_ref else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    errors = np.concatenate([s["errors_ms"] for s in scores]) if tp else np.empty(0)
    out = {"n_reference": n_ref, "n_found": n_found, "f_measure": f, "precision": precision, "recall": recall,
           "median_abs_error_ms": float(np.median(np.abs(errors))) if errors.size else float("nan"),
           "median_error_ms": float(np.median(errors)) if errors.size else float("nan"),
           "p95_abs_error_ms": float(np.percentile(np.abs(errors), 95)) if errors.size else float("nan")}
    if offset_ms is not None and errors.size:
        out["offset_removed_median_abs_error_ms"] = float(np.median(np.abs(errors - offset_ms)))
        out["offset_ms"] = offset_ms
    return out


def timed(fn, samples, sr, repeats: int) -> tuple[np.ndarray, float]:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        found = fn(samples, sr)
        best = min(best, time.perf_counter() - t0)
    return np.asarray(found, dtype=float), best


def evaluate_tabla(data_dir: Path, repeats: int, verbose: bool) -> dict:
    from cadenza.io.annotated_datasets import load_four_way_tabla

    clips = load_four_way_tabla(data_dir)
    per_clip, out = [], {}
    for clip in clips:
        entry = {"clip": clip.clip_id, "split": clip.split, "duration_s": clip.duration_s,
                 "n_reference": int(clip.onset_times_s.size)}
        for name, fn in METHODS.items():
            found, seconds = timed(fn, clip.samples, clip.sampling_rate_hz, repeats)
            entry[name] = {**score_clip(clip.onset_times_s, found), "seconds": seconds}
            if verbose:
                s = pooled([entry[name]])
                print(f"{clip.split:<5} {clip.clip_id:<20} {name:<16} F {s['f_measure']:.3f} "
                      f"med|err| {s['median_abs_error_ms']:.1f} ms bias {s['median_error_ms']:+.1f} ms", file=sys.stderr)
        per_clip.append(entry)
    for name in METHODS:
        dev = [e[name] for e in per_clip if e["split"] == "train"]
        dev_summary = pooled(dev)
        out[name] = {}
        for label, split in PARTS:
            sel = [e for e in per_clip if e["split"] == split]
            offset = dev_summary["median_error_ms"] if split == "test" else None
            summary = pooled([e[name] for e in sel], offset_ms=offset)
            minutes = sum(e["duration_s"] for e in sel) / 60
            summary["s_per_audio_min"] = sum(e[name]["seconds"] for e in sel) / minutes if minutes else float("nan")
            summary["clips"] = [e["clip"] for e in sel]
            out[name][label] = summary
    for entry in per_clip:  # keep the JSON small: per-clip figures without the error lists
        for name in METHODS:
            entry[name] = {k: v for k, v in pooled([entry[name]]).items()} | {"seconds": entry[name]["seconds"]}
    return {"methods": out, "per_clip": per_clip}


def cross_validate(data_dir: Path) -> dict:
    """Leave one recording out: threshold (by F) and offset chosen on the other clips, this one scored."""
    from cadenza.io.annotated_datasets import load_four_way_tabla
    from cadenza.timing import detect_onsets

    clips = load_four_way_tabla(data_dir)
    scores = {(instant, threshold, clip.clip_id): score_clip(clip.onset_times_s, detect_onsets(
        clip.samples, sampling_rate_hz=clip.sampling_rate_hz, threshold=threshold, instant=instant))
        for instant in CV_INSTANTS for threshold in CV_THRESHOLDS for clip in clips}
    out = {}
    for instant in CV_INSTANTS:
        folds = []
        for clip in clips:
            others = [c.clip_id for c in clips if c.clip_id != clip.clip_id]
            best = max(CV_THRESHOLDS, key=lambda t: pooled([scores[(instant, t, o)] for o in others])["f_measure"])
            offset = pooled([scores[(instant, best, o)] for o in others])["median_error_ms"]
            fold = pooled([scores[(instant, best, clip.clip_id)]], offset_ms=offset)
            folds.append({"clip": clip.clip_id, "threshold": best, **fold})
        total = pooled([scores[(instant, f["threshold"], f["clip"])] for f in folds])
        removed = np.concatenate([np.asarray(scores[(instant, f["threshold"], f["clip"])]["errors_ms"]) - f["offset_ms"]
                                  for f in folds])
        total["offset_removed_median_abs_error_ms"] = float(np.median(np.abs(removed)))
        out[instant] = {"pooled": total, "folds": folds}
    return out


def synthetic_hits(kind: str, sr: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A recording of 20 hits of one kind at known sample positions (the first sample of each sound)."""
    rng = np.random.default_rng(seed)
    onsets_s = np.round((0.5 + np.cumsum(rng.uniform(0.25, 0.7, size=20))) * sr) / sr
    x = rng.normal(size=int((onsets_s[-1] + 0.6) * sr)) * 1e-3
    t = np.arange(int(0.12 * sr)) / sr
    for onset_s in onsets_s:
        if kind == "click":
            sound = rng.normal(size=t.size) * np.exp(-t / 0.004)
        elif kind == "thump":
            sound = np.sin(2 * np.pi * 180 * t) * np.exp(-t / 0.03) + 0.3 * rng.normal(size=t.size) * np.exp(-t / 0.003)
        else:
            sound = rng.normal(size=t.size) * np.exp(-t / 0.012)
        sound = sound * np.minimum(t / 0.0005, 1.0) * np.exp(-((t / t[-1]) ** 8)) * rng.uniform(0.3, 1.0)
        i = int(round(onset_s * sr))
        x[i:i + t.size] += sound
    return x, onsets_s


def evaluate_synthetic() -> dict:
    scores = {name: [] for name in METHODS}
    for k, kind in enumerate(("click", "thump", "clap")):
        for m, sr in enumerate((16_000, 44_100, 48_000)):
            x, onsets_s = synthetic_hits(kind, sr, seed=100 * k + m)
            for name, fn in METHODS.items():
                scores[name].append(score_clip(onsets_s, np.asarray(fn(x, sr), dtype=float)))
    return {name: pooled(s) for name, s in scores.items()}


def print_tables(summary: dict) -> None:
    tabla = summary["tabla"]["methods"]
    print("Onsets on the four-way tabla clips (F at +-50 ms; errors over matched pairs, ms)")
    header = f"{'method':<16} {'part':<12} {'refs':>5} {'found':>5} {'F':>6} {'P':>6} {'R':>6} " \
             f"{'med|err|':>8} {'bias':>6} {'p95|err|':>8} {'offset removed':>14} {'s/min':>6}"
    print(header)
    for name, parts in tabla.items():
        for label, r in parts.items():
            removed = r.get("offset_removed_median_abs_error_ms")
            removed_text = f"{removed:.1f} ({r['offset_ms']:+.1f})" if removed is not None else "-"
            print(f"{name:<16} {label:<12} {r['n_reference']:>5} {r['n_found']:>5} {r['f_measure']:>6.3f} "
                  f"{r['precision']:>6.3f} {r['recall']:>6.3f} {r['median_abs_error_ms']:>8.1f} "
                  f"{r['median_error_ms']:>+6.1f} {r['p95_abs_error_ms']:>8.1f} {removed_text:>14} "
                  f"{r['s_per_audio_min']:>6.3f}")
    if "cv" in summary:
        print()
        print("Leave-one-recording-out (threshold and offset chosen on the other clips)")
        print(f"{'instant':<9} {'clip':<20} {'thr':>5} {'F':>6} {'med|err|':>8} {'bias':>6} {'offset removed':>14}")
        for instant, r in summary["cv"].items():
            for fold in r["folds"] + [{"clip": "pooled", "threshold": float("nan"), **r["pooled"],
                                       "offset_ms": float("nan")}]:
                print(f"{instant:<9} {fold['clip']:<20} {fold['threshold']:>5.2f} {fold['f_measure']:>6.3f} "
                      f"{fold['median_abs_error_ms']:>8.1f} {fold['median_error_ms']:>+6.1f} "
                      f"{fold['offset_removed_median_abs_error_ms']:>8.1f} "
                      + (f"({fold['offset_ms']:+.1f})" if np.isfinite(fold["offset_ms"]) else ""))
    print()
    print("Synthetic hits with a known first sample (click, thump, clap x 16/44.1/48 kHz; 180 hits)")
    print(f"{'method':<16} {'F':>6} {'med|err|':>8} {'bias':>6} {'p95|err|':>8}")
    for name, r in summary["synthetic"].items():
        print(f"{name:<16} {r['f_measure']:>6.3f} {r['median_abs_error_ms']:>8.2f} {r['median_error_ms']:>+6.2f} "
              f"{r['p95_abs_error_ms']:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--verbose", action="store_true", help="per-clip lines on stderr")
    parser.add_argument("--repeats", type=int, default=3, help="timing: best of N runs per clip (default 3)")
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"no data folder {args.data_dir}", file=sys.stderr)
        return 2
    warm = np.random.default_rng(0).standard_normal(16_000 * 3) * 0.1  # imports and first-call costs
    for fn in METHODS.values():
        fn(warm, 16_000)
    summary = {"tabla": evaluate_tabla(args.data_dir, max(1, args.repeats), args.verbose),
               "cv": cross_validate(args.data_dir), "synthetic": evaluate_synthetic()}
    if args.json:
        print(json.dumps(summary, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    else:
        print_tables(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
