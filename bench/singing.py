"""Sung-pitch benchmark: Cadenza's voice tracker side by side with pYIN's defaults, in one run.

Usage: ``python bench/singing.py [DATA_DIR] [--json] [--split-s S]``

DATA_DIR (default ``../shared/data/singing/`` next to the repo) holds vocadito (one 33-s solo track with
hand-made F0 and two annotators' notes). With one track there is no second singer to hold out, so the
track is split in time at a breath between phrases (``--split-s``, default 15.6 s): parameters were
chosen on the part before it (development) and the part after it is reported apart (held-out; the same
singer and song, so it checks over-fitting to the development frames, not generality).

Both trackers run on the whole track; the frames are scored per part with ``mir_eval.melody`` on the
reference's 5.8-ms grid: raw pitch accuracy (voiced reference frames whose estimate is within 50 cents;
an unvoiced estimate counts as wrong), the octave-error rate (voiced reference frames whose estimate is
more than 50 cents off but within 50 cents of an octave of it), voicing recall and false alarm, and the
median |error| in cents where both are voiced. Notes (Cadenza only; pYIN gives none): note F-measure
(onset within 50 ms, pitch within 50 cents, offsets ignored) against each annotator, with the two
annotators scored against each other for scale.

Methods:

* ``cadenza``: :func:`cadenza.singing.track_pitch` (pYIN tuned for the voice; see its docstring);
* ``pyin``: ``librosa.pyin(y, fmin=note_to_hz("C2"), fmax=note_to_hz("C7"), sr=sr)`` at the file's rate,
  every other setting librosa's default (2048-sample frames, 512-sample hop).

Two degraded copies of the audio are scored too (same frames, same parts): white noise at 10 dB SNR
(seeded), and the track high-passed at 300 Hz (8th-order Butterworth, zero phase), which removes the
fundamental of every sung note (107-202 Hz) as a small loudspeaker or a phone line does, the classic
trigger of octave errors.

Compute: analysis only, one run each on the clean audio, seconds per audio minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "singing"
DEFAULT_SPLIT_S = 15.6


def run_cadenza(samples: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    from cadenza.singing import track_pitch

    track = track_pitch(samples, sampling_rate_hz=sr)
    return track.times_s, track.f0_hz


def run_pyin(samples: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    f0, voiced, _ = librosa.pyin(np.asarray(samples, dtype=np.float32), fmin=librosa.note_to_hz("C2"),
                                 fmax=librosa.note_to_hz("C7"), sr=sr)
    times = librosa.times_like(f0, sr=sr)
    return times, np.where(voiced, f0, np.nan)


METHODS = {"cadenza": run_cadenza, "pyin": run_pyin}
CONDITIONS = ("clean", "noise-10dB", "highpass-300Hz")


def degrade(samples: np.ndarray, sr: int, condition: str) -> np.ndarray:
    if condition == "clean":
        return samples
    if condition == "noise-10dB":
        rng = np.random.default_rng(0)
        return samples + rng.normal(size=samples.size) * np.sqrt(np.mean(samples**2)) * 10 ** (-10 / 20)
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(8, 300.0, "highpass", fs=sr, output="sos"), samples)


def score_frames(ref_times_s, ref_hz, times_s, f0_hz) -> dict:
    import mir_eval

    ref_v, ref_c, est_v, est_c = mir_eval.melody.to_cent_voicing(ref_times_s, ref_hz, times_s, np.nan_to_num(f0_hz))
    recall, false_alarm = mir_eval.melody.voicing_measures(ref_v, est_v)
    both = (ref_v > 0) & (est_v > 0)
    diff = est_c[both] - ref_c[both]
    n_voiced = int(np.sum(ref_v > 0))
    octave = np.sum((np.abs(diff) > 50) & (np.abs((diff + 600) % 1200 - 600) <= 50))
    return {"n_voiced_frames": n_voiced,
            "raw_pitch_accuracy": float(mir_eval.melody.raw_pitch_accuracy(ref_v, ref_c, est_v, est_c)),
            "raw_chroma_accuracy": float(mir_eval.melody.raw_chroma_accuracy(ref_v, ref_c, est_v, est_c)),
            "octave_error_rate": float(octave / n_voiced) if n_voiced else float("nan"),
            "voicing_recall": float(recall), "voicing_false_alarm": float(false_alarm),
            "median_abs_cents": float(np.median(np.abs(diff))) if diff.size else float("nan")}


def note_f(reference: np.ndarray, notes: list[tuple[float, float, float]]) -> float:
    import mir_eval

    if not len(notes) or not len(reference):
        return float("nan")
    ref_intervals = np.stack([reference[:, 0], reference[:, 0] + reference[:, 2]], axis=1)
    est = np.asarray(notes, dtype=float)
    return float(mir_eval.transcription.precision_recall_f1_overlap(
        ref_intervals, reference[:, 1], est[:, :2], est[:, 2], offset_ratio=None)[2])


def evaluate(data_dir: Path, split_s: float) -> dict:
    from cadenza.io.annotated_datasets import load_vocadito
    from cadenza.singing import segment_notes

    tracks = load_vocadito(data_dir)
    if not tracks:
        raise SystemExit(f"no vocadito track in {data_dir}")
    out: dict = {"split_s": split_s, "tracks": [t.clip_id for t in tracks], "methods": {}, "notes": {}}
    parts = (("development", 0.0, split_s), ("held-out", split_s, 1e9))
    clean_results = {}
    for condition in CONDITIONS:
        out["methods"][condition] = {}
        for name, fn in METHODS.items():
            out["methods"][condition][name] = {}
            results = []
            for track in tracks:
                samples = degrade(np.asarray(track.samples, dtype=float), track.sampling_rate_hz, condition)
                t0 = time.perf_counter()
                times_s, f0_hz = fn(samples, track.sampling_rate_hz)
                results.append((track, times_s, f0_hz, time.perf_counter() - t0))
            for label, lo, hi in parts:
                per_track = []
                for track, times_s, f0_hz, _ in results:
                    keep = (track.f0_times_s >= lo) & (track.f0_times_s < hi)
                    per_track.append(score_frames(track.f0_times_s[keep], track.f0_hz[keep], times_s, f0_hz))
                weights = np.array([r["n_voiced_frames"] for r in per_track], dtype=float)
                scores = {k: float(np.average([r[k] for r in per_track], weights=weights))
                          for k in per_track[0] if k != "n_voiced_frames"}
                out["methods"][condition][name][label] = {**scores, "n_voiced_frames": int(weights.sum())}
            if condition == "clean":
                minutes = sum(t.samples.size / t.sampling_rate_hz for t in tracks) / 60
                out["methods"][condition][name]["s_per_audio_min"] = sum(r[3] for r in results) / minutes
                clean_results[name] = results
    for label, lo, hi in parts:
        scores = {}
        for track, times_s, f0_hz, _ in clean_results["cadenza"]:
            notes = [(n.onset_s, n.offset_s, n.pitch_hz) for n in segment_notes(times_s, f0_hz) if lo <= n.onset_s < hi]
            for annotator, reference in sorted(track.notes.items()):
                sel = reference[(reference[:, 0] >= lo) & (reference[:, 0] < hi)]
                scores[f"cadenza_vs_{annotator}"] = note_f(sel, notes)
            if {"A1", "A2"} <= set(track.notes):
                a1, a2 = (track.notes[k][(track.notes[k][:, 0] >= lo) & (track.notes[k][:, 0] < hi)]
                          for k in ("A1", "A2"))
                scores["A2_vs_A1"] = note_f(a1, [(o, o + d, p) for o, p, d in a2])
        out["notes"][label] = scores
    return out


def print_tables(summary: dict) -> None:
    print(f"Sung pitch on {', '.join(summary['tracks'])}: development < {summary['split_s']:g} s <= held-out")
    print(f"{'condition':<15} {'method':<8} {'part':<12} {'frames':>6} {'RPA':>6} {'RCA':>6} {'octave %':>8} "
          f"{'v-recall':>8} {'v-false':>7} {'med|cents|':>10}")
    for condition, methods in summary["methods"].items():
        for name, parts in methods.items():
            for label in ("development", "held-out"):
                r = parts[label]
                print(f"{condition:<15} {name:<8} {label:<12} {r['n_voiced_frames']:>6} {r['raw_pitch_accuracy']:>6.4f} "
                      f"{r['raw_chroma_accuracy']:>6.4f} {100 * r['octave_error_rate']:>8.2f} "
                      f"{r['voicing_recall']:>8.4f} {r['voicing_false_alarm']:>7.4f} {r['median_abs_cents']:>10.1f}")
    for name, parts in summary["methods"]["clean"].items():
        print(f"{name:<8} compute {parts['s_per_audio_min']:.1f} s per audio minute (clean audio)")
    print()
    print("Notes (F at onset +-50 ms, pitch +-50 cents, offsets ignored; clean audio)")
    for label, scores in summary["notes"].items():
        print(f"{label:<12} " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--split-s", type=float, default=DEFAULT_SPLIT_S, help="development/held-out boundary (s)")
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"no data folder {args.data_dir}", file=sys.stderr)
        return 2
    warm = np.sin(2 * np.pi * 220 * np.arange(22_050) / 22_050) * 0.3  # imports and numba compilation
    for fn in METHODS.values():
        fn(warm, 22_050)
    summary = evaluate(args.data_dir, args.split_s)
    if args.json:
        print(json.dumps(summary, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    else:
        print_tables(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
