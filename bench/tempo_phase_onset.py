"""Beat placement with a phase-aware onset term: does it find the beats magnitudes put on the off-beat?

Usage: ``python bench/tempo_phase_onset.py [DATA_DIR ...] [--kinds rcd rcd_white wpd] [--weights W ...] [--folds 5]
[--repeats 3] [--seed 22] [--workers 2] [--cache FILE] [--json]``

DATA_DIRs as in ``bench/tempo_level_fit.py`` (default: the shared set, ``/work/tempo-corpus`` and
``/work/tempo-corpus2``; a group is one source file, :func:`tempo_level_fit.group_of`). For every excerpt the
complex STFT on the tracker's grid (the same frames as ``cadenza.music.onset.compute_spectrogram``) gives two
phase-aware onset functions (Bello et al. 2005; Dixon 2006, "Onset detection revisited"):

- *rectified complex domain* (``rcd``): per bin, the distance between the frame and its prediction from the two
  frames before (magnitude held, phase advanced at its last rate), counted only where the magnitude rises;
- *weighted phase deviation* (``wpd``): per bin, the magnitude times the absolute second difference of the
  phase (0 for a steady partial, large where a new pitch or a new note's phase starts).

Each goes through the tracker's own filterbank, log compression and detrending, and is mixed with the shipped
placement envelope (``cadenza.music.beats.placement_envelope``) at weight w (``detrend(placement + w x phase)``,
both at unit standard deviation; w = 0 is the shipped placement, ``inf`` the phase term alone, -1 the phase term as
a third band weighted by its own periodicity as ``placement_envelope`` weights the two magnitude bands). Beat F (+-70 ms) at the model's level and at
the oracle level, per corpus and condition; the loss split (``tempo_beats.losses``) at the oracle level for
each mix; grouped cross-validation over the weights at the model's level (each fold scored with the weight
best on the others).
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tempo import beat_f  # noqa: E402
from tempo_beats import cross_validate, losses  # noqa: E402
from tempo_level_fit import group_of  # noqa: E402

DEFAULT_DIRS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "music", Path("/work/tempo-corpus"),
                Path("/work/tempo-corpus2"))
KINDS = ("rcd", "rcd_white", "wpd")
#: Mix weights; ``inf`` is the phase term alone, ``-1`` the phase term as a third band of ``placement_envelope``,
#: weighted like the two magnitude bands by its own autocorrelation at the beat period.
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, float("inf"), -1.0)


def complex_stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    pad = n_fft // 2
    x = np.pad(x, (pad, pad))
    n_frames = 1 + (x.size - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(x, shape=(n_frames, n_fft), strides=(x.strides[0] * hop, x.strides[0]))
    from scipy import fft as sp_fft

    return sp_fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1)


def phase_envelopes(stft: np.ndarray, spec) -> dict[str, np.ndarray]:
    """``rcd`` and ``wpd`` onset functions through the tracker's filterbank, compressed and detrended."""
    from cadenza.music import onset as o

    bank, used = o._filterbank(spec.n_fft, float(spec.sampling_rate_hz))
    X = stft[:, :used]
    mag = np.abs(X)
    unit = X / np.maximum(mag, 1e-12)
    out = {}
    # prediction of frame n from n-1 and n-2: magnitude |X(n-1)|, phase 2 phi(n-1) - phi(n-2)
    target = np.zeros_like(X)
    target[2:] = mag[1:-1] * unit[1:-1] ** 2 * np.conj(unit[:-2])
    dist = np.abs(X - target)
    rising = np.zeros(mag.shape, dtype=bool)
    rising[1:] = mag[1:] >= mag[:-1]
    rcd = np.where(rising, dist, 0.0)
    rcd[:2] = 0.0
    dev = np.zeros(mag.shape, dtype=np.float32)
    dev[2:] = np.abs(np.angle(unit[2:] * np.conj(unit[1:-1]) ** 2 * unit[:-2]))
    wpd = mag * dev
    memory = max(1, int(round(o.WHITEN_MEMORY_S * spec.frame_rate_hz)))
    for name, per_bin in (("rcd", rcd), ("rcd_white", rcd), ("wpd", wpd)):
        bands = np.asarray(bank @ per_bin.T, dtype=np.float64)
        bands = np.log1p(o.LOG_COMPRESSION * bands / max(float(bands.max()), 1e-12))
        if name == "rcd_white":  # each band over its own recent peak, as the magnitude flux is
            peak = maximum_filter1d(bands, size=memory, axis=1, origin=(memory - 1) // 2)
            bands = bands / np.maximum(peak, o.WHITEN_FLOOR)
        if name == "wpd":  # a level, not a change: its rise is the onset
            flux = np.zeros_like(bands)
            flux[:, 1:] = np.maximum(bands[:, 1:] - bands[:, :-1], 0.0)
            bands = flux
        out[name] = o.detrend_envelope(bands.mean(axis=0)[None, :], spec.frame_rate_hz)[0]
    return out


def load_one(args):
    d, row = args
    from cadenza.io.audio import load_audio
    from cadenza.music import onset as o
    from cadenza.music.beats import metrical_level_candidates
    from cadenza.music.level import choose_level, chroma_frames

    audio = load_audio(d / row["audio"], mono=True)
    t0 = time.process_time()
    spec = o.compute_spectrogram(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
    t_mag = time.process_time() - t0
    x, rate_hz = o._to_analysis_rate(o._validate(audio.samples, audio.sampling_rate_hz),
                                     float(audio.sampling_rate_hz))
    hop = max(1, int(round(o.HOP_S * rate_hz)))
    t0 = time.process_time()
    stft = complex_stft(x, spec.n_fft, hop)
    phase = phase_envelopes(stft, spec)
    t_phase = time.process_time() - t0
    onsets = o.onset_envelope_from_spectrogram(spec)
    cands = metrical_level_candidates(onsets, chroma_frames(spec))
    if not cands:
        return None
    ref_bpm = float(row["bpm"])
    return {"id": row["id"], "corpus": d.name, "group": group_of(row["source"]),
            "degradation": row.get("degradation", ""), "duration_s": x.size / rate_hz,
            "ref_s": np.loadtxt(d / row["beats"], ndmin=2)[:, 0], "onsets": onsets, "phase": phase,
            "t_mag": t_mag, "t_phase": t_phase,
            "model_bpm": choose_level(cands)[0].tempo_bpm,
            "oracle_bpm": min((c.tempo_bpm for c in cands), key=lambda t: abs(np.log(t / ref_bpm)))}


def load(dirs: list[Path], workers: int) -> list[dict]:
    jobs = []
    for d in dirs:
        with open(d / "manifest.csv", newline="") as fh:
            jobs += [(d, row) for row in csv.DictReader(fh)]
    if workers > 1:
        from multiprocessing import Pool

        with Pool(workers) as pool:
            items = pool.map(load_one, jobs, chunksize=4)
    else:
        items = [load_one(j) for j in jobs]
    return [it for it in items if it is not None]


def place(it: dict, tempo_bpm: float, kind: str, weight: float) -> np.ndarray:
    """The shipped placement (``beats_at_tempo``) with the phase term mixed into the envelope beats are placed on."""
    from cadenza.music import beats as b
    from cadenza.music.onset import detrend_envelope
    from cadenza.music.tempo import local_period_frames

    onsets = it["onsets"]
    env, fr = onsets.strength, onsets.frame_rate_hz
    period = local_period_frames(env, frame_rate_hz=fr, tempo_bpm=tempo_bpm)
    placed = b.placement_envelope(onsets, tempo_bpm)
    if weight == -1.0:
        from dataclasses import replace

        three = np.vstack([onsets.band_strength, it["phase"][kind][None, :]])
        placed = b.placement_envelope(replace(onsets, band_strength=three), tempo_bpm)
    elif weight > 0:
        phase = it["phase"][kind]
        mixed = phase if not np.isfinite(weight) else placed + weight * phase
        placed = detrend_envelope(mixed[None, :], fr)[0]
    idx = b._trim_weak_ends(b._dp_beats(b.placement_evidence(placed), period, b.TIGHTNESS), env)
    idx = b._trim_after_music_ends(idx, onsets.level_db)
    beat_times_s = b._refine(idx, env) / fr
    beat_times_s = beat_times_s - b.attack_lag_s(env, beat_times_s, frame_rate_hz=fr)
    return beat_times_s[beat_times_s >= 0.0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", nargs="*", type=Path, default=list(DEFAULT_DIRS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, help="pickle of the loaded excerpts (written if absent)")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--weights", nargs="*", type=float, default=list(WEIGHTS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    dirs = [d for d in args.data_dirs if (d / "manifest.csv").is_file()]
    if args.cache and args.cache.is_file():
        items = pickle.loads(args.cache.read_bytes())
    else:
        items = load(dirs, args.workers)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(items))
    options = [("none", 0.0)] + [(k, w) for k in args.kinds for w in args.weights if w != 0]
    for it in items:
        it["f_model"], it["f_oracle"], it["loss"] = {}, {}, {}
        for opt in options:
            it["f_model"][opt] = beat_f(it["ref_s"], place(it, it["model_bpm"], *opt))
            oracle = place(it, it["oracle_bpm"], *opt)
            it["f_oracle"][opt] = beat_f(it["ref_s"], oracle)
            it["loss"][opt] = losses(it["ref_s"], oracle)

    def name(opt):
        if opt[1] == -1.0:
            return f"{opt[0]} as a band"
        return "shipped placement" if opt[1] == 0 else (f"{opt[0]} alone" if not np.isfinite(opt[1])
                                                        else f"{opt[0]} x {opt[1]:g}")

    subsets = {"pooled": items}
    for c in sorted({it["corpus"] for it in items}):
        subsets[c] = [it for it in items if it["corpus"] == c]
    for v in sorted({it["degradation"] for it in items if it["degradation"]}):
        subsets[v] = [it for it in items if it["degradation"] == v]
    result = {"n": len(items), "options": {}, "cv": {}}
    for opt in options:
        r = {}
        for sub, rows in subsets.items():
            r[sub] = {"model": float(np.mean([it["f_model"][opt] for it in rows])),
                      "oracle": float(np.mean([it["f_oracle"][opt] for it in rows]))}
        r["losses"] = {k: int(sum(it["loss"][opt][k] for it in items)) for k in items[0]["loss"][opt]}
        r["losses_reverb_noise"] = {k: int(sum(it["loss"][opt][k] for it in subsets.get("reverb+noise", [])))
                                    for k in items[0]["loss"][opt]}
        result["options"][name(opt)] = r
    # Grouped folds, each scored with the option best on the others (the same rule as tempo_beats).
    result["cv"] = cross_validate(items, options, "f_model", name, args)
    minutes = sum(it["duration_s"] for it in items) / 60.0
    result["cpu_s_per_audio_minute"] = {"magnitude_stft": sum(it["t_mag"] for it in items) / minutes,
                                        "complex_stft_and_phase_terms": sum(it["t_phase"] for it in items) / minutes}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{len(items)} excerpts; beat F at the model's level / at the oracle level")
    for opt_name, r in result["options"].items():
        print(f"{opt_name:<20} " + "  ".join(f"{s} {v['model']:.3f}/{v['oracle']:.3f}" for s, v in r.items()
                                             if s in subsets))
        lo, ln = r["losses"], r["losses_reverb_noise"]
        print(f"{'':<20} oracle level, annotated beats {lo['beats']}: hit {lo['hit']}, off-beat {lo['off_beat']} "
              f"(reverb+noise {ln['off_beat']}), late {lo['late']}, early {lo['early']}, drift {lo['drift']}; "
              f"unmatched {lo['extra_before']}/{lo['extra_after']}/{lo['extra_within']}")
    cv = result["cv"]
    print(f"grouped cross-validation ({args.folds} folds x {args.repeats}), model's level: held-out beat F "
          + "  ".join(f"{k} {v:.4f}" for k, v in cv.items() if k != "chosen") + "; chosen: "
          + ", ".join(f"{k} x{n}" for k, n in cv["chosen"].items()))
    print("process CPU per audio minute: " + ", ".join(f"{k} {v:.3f} s"
                                                      for k, v in result["cpu_s_per_audio_minute"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
