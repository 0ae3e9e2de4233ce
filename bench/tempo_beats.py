"""Beat placement given the metrical level: where beat F is lost, and the placement variants cross-validated.

Usage: ``python bench/tempo_beats.py [DATA_DIR ...] [--folds 5] [--repeats 3] [--seed 22] [--json]``

DATA_DIRs as in ``bench/tempo_level_fit.py`` (default: ``../shared/data/music`` and ``/work/tempo-corpus``,
pooled; a group is one source file). For every excerpt the beats are placed twice: at the level the model
chooses (what the tracker ships) and at the candidate level nearest the annotated tempo (the *oracle* level:
placement alone). Printed:

- beat F (+-70 ms, ``mir_eval`` after ``trim_beats``) at both levels, per corpus, tempo curve and condition;
  the difference is what the level choice costs;
- at the oracle level, every annotated beat sorted by where the nearest tracked beat is: a hit (within
  70 ms); within a quarter period, late or early with the excerpt's systematic offset (the median offset
  of the beats within a quarter period is beyond 25 ms and this beat is off the same way), else drifted;
  beyond it, on the off-beat (half a period away, +-70 ms + 10 % of the period), else drifted; and the
  tracked beats that match no annotation, before the first or after the last annotated beat (the tracker
  beating on through a silent or noisy tail) or in between;
- the placement variants (evidence the programme runs on: the plain envelope, its square root or
  ``log(1 + x)``; tightness 50, 100 or 200) at the model's level, and grouped cross-validation over them:
  each fold is scored with the variant whose mean beat F was best on the other folds.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tempo import beat_f  # noqa: E402  (the benchmark's own scoring)

DEFAULT_DIRS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "music", Path("/work/tempo-corpus"))
EVIDENCE = {"plain": lambda e: e, "sqrt": np.sqrt, "log1p": np.log1p}
TIGHTNESS = (50.0, 100.0, 200.0)
SHIPPED = ("log1p", 100.0)
TOLERANCE_S = 0.07


def load(dirs: list[Path]) -> list[dict]:
    from cadenza.io.audio import load_audio
    from cadenza.music.beats import metrical_level_candidates
    from cadenza.music.level import choose_level, chroma_frames
    from cadenza.music.onset import compute_spectrogram, onset_envelope_from_spectrogram

    items = []
    for d in dirs:
        with open(d / "manifest.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                audio = load_audio(d / row["audio"], mono=True)
                spec = compute_spectrogram(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
                onsets = onset_envelope_from_spectrogram(spec)
                cands = metrical_level_candidates(onsets, chroma_frames(spec))
                if not cands:
                    continue
                ref_bpm = float(row["bpm"])
                items.append({"id": row["id"], "corpus": d.name, "group": row["source"].split("#")[0],
                              "tempo_curve": row.get("tempo_curve", ""), "degradation": row.get("degradation", ""),
                              "ref_s": np.loadtxt(d / row["beats"], ndmin=2)[:, 0], "onsets": onsets,
                              "model_bpm": choose_level(cands)[0].tempo_bpm,
                              "oracle_bpm": min((c.tempo_bpm for c in cands), key=lambda t: abs(np.log(t / ref_bpm)))})
    return items


def place(onsets, tempo_bpm: float, evidence: str, tightness: float) -> np.ndarray:
    """The tracker's placement (``cadenza.music.beats.beats_at_tempo``) with another evidence or tightness."""
    from cadenza.music import beats as b
    from cadenza.music.tempo import local_period_frames

    env, fr = onsets.strength, onsets.frame_rate_hz
    period = local_period_frames(env, frame_rate_hz=fr, tempo_bpm=tempo_bpm)
    idx = b._trim_weak_ends(b._dp_beats(EVIDENCE[evidence](np.maximum(env, 0.0)), period, tightness), env)
    idx = b._trim_after_music_ends(idx, onsets.level_db)
    return b._refine(idx, env) / fr


def losses(ref_s: np.ndarray, est_s: np.ndarray) -> dict:
    """Annotated beats by where the nearest tracked beat is, and the unmatched tracked beats."""
    import mir_eval

    ref, est = mir_eval.beat.trim_beats(ref_s), mir_eval.beat.trim_beats(np.asarray(est_s, dtype=float))
    out = {"beats": int(ref.size), "hit": 0, "off_beat": 0, "late": 0, "early": 0, "drift": 0,
           "extra_before": 0, "extra_after": 0, "extra_within": 0}
    if ref.size < 3 or est.size == 0:
        out["drift"] = int(ref.size)
        return out
    ibi = np.diff(ref)
    period = np.r_[ibi[0], 0.5 * (ibi[:-1] + ibi[1:]), ibi[-1]]
    d = est[np.argmin(np.abs(est[None, :] - ref[:, None]), axis=1)] - ref
    near = np.abs(d) < period / 4
    offset = float(np.median(d[near])) if near.any() else 0.0
    for di, p in zip(d, period):
        if abs(di) <= TOLERANCE_S:
            out["hit"] += 1
        elif abs(di) < p / 4:  # nearer the beat than the half-way point
            systematic = abs(offset) > 0.025 and np.sign(di) == np.sign(offset)
            out[("late" if di > 0 else "early") if systematic else "drift"] += 1
        elif abs(abs(di) - p / 2) <= TOLERANCE_S + 0.1 * p:
            out["off_beat"] += 1
        else:
            out["drift"] += 1
    unmatched = np.abs(est[:, None] - ref[None, :]).min(axis=1) > TOLERANCE_S
    out["extra_before"] = int(np.sum(unmatched & (est < ref[0])))
    out["extra_after"] = int(np.sum(unmatched & (est > ref[-1])))
    out["extra_within"] = int(unmatched.sum()) - out["extra_before"] - out["extra_after"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", nargs="*", type=Path, default=list(DEFAULT_DIRS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="random group-to-fold assignments (default 3)")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    for d in args.data_dirs:
        if not (d / "manifest.csv").is_file():
            print(f"no manifest.csv in {d}", file=sys.stderr)
            return 2
    items = load(args.data_dirs)
    variants = [(e, t) for e in EVIDENCE for t in TIGHTNESS]
    for it in items:
        it["f_model"] = {v: beat_f(it["ref_s"], place(it["onsets"], it["model_bpm"], *v)) for v in variants}
        oracle = place(it["onsets"], it["oracle_bpm"], *SHIPPED)
        it["f_oracle"] = beat_f(it["ref_s"], oracle)
        it["f_oracle_plain"] = beat_f(it["ref_s"], place(it["onsets"], it["oracle_bpm"], "plain", 100.0))
        it["losses"] = losses(it["ref_s"], oracle)

    def mean(rows, key):
        return float(np.mean([key(r) for r in rows])) if rows else float("nan")

    subsets = {"pooled": items}
    for c in sorted({it["corpus"] for it in items}):
        subsets[c] = [it for it in items if it["corpus"] == c]
    for field in ("tempo_curve", "degradation"):
        for v in sorted({it[field] for it in items if it[field]}):
            subsets[f"{field}={v}"] = [it for it in items if it[field] == v]
    result: dict = {"n": len(items), "subsets": {}, "variants": {}, "cv": {}}
    for name, rows in subsets.items():
        total = {k: int(sum(r["losses"][k] for r in rows)) for k in rows[0]["losses"]}
        result["subsets"][name] = {"n": len(rows), "f_model_level": mean(rows, lambda r: r["f_model"][SHIPPED]),
                                   "f_model_level_plain": mean(rows, lambda r: r["f_model"][("plain", 100.0)]),
                                   "f_oracle_level": mean(rows, lambda r: r["f_oracle"]),
                                   "f_oracle_level_plain": mean(rows, lambda r: r["f_oracle_plain"]), "losses": total}
    for v in variants:
        result["variants"][f"{v[0]} / tightness {v[1]:.0f}"] = {
            name: mean(subsets[name], lambda r: r["f_model"][v]) for name in subsets if "=" not in name}
    groups = sorted({it["group"] for it in items})
    rng = np.random.default_rng(args.seed)
    held, chosen = [], []
    for _ in range(args.repeats):
        fold_of = {g: i % args.folds for i, g in enumerate(rng.permutation(groups))}
        for k in range(args.folds):
            train = [it for it in items if fold_of[it["group"]] != k]
            best = max(variants, key=lambda v: np.mean([it["f_model"][v] for it in train]))
            chosen.append(f"{best[0]} / tightness {best[1]:.0f}")
            held += [(it["corpus"], it["f_model"][best]) for it in items if fold_of[it["group"]] == k]
    result["cv"] = {"chosen": {c: chosen.count(c) for c in sorted(set(chosen))},
                    "pooled": float(np.mean([f for _, f in held])),
                    **{c: float(np.mean([f for cc, f in held if cc == c])) for c in sorted({it["corpus"] for it in items})}}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{len(items)} excerpts; beat F at the model's level and at the oracle level (placement {SHIPPED[0]}, "
          f"tightness {SHIPPED[1]:.0f}; plain envelope in brackets)")
    for name, r in result["subsets"].items():
        lo = r["losses"]
        print(f"  {name:<26} n={r['n']:>3}  model level {r['f_model_level']:.3f} ({r['f_model_level_plain']:.3f})  "
              f"oracle level {r['f_oracle_level']:.3f} ({r['f_oracle_level_plain']:.3f})  | annotated beats "
              f"{lo['beats']}: hit {lo['hit']}, off-beat {lo['off_beat']}, late {lo['late']}, early {lo['early']}, "
              f"drift {lo['drift']}; unmatched tracked beats before/after/within {lo['extra_before']}/"
              f"{lo['extra_after']}/{lo['extra_within']}")
    print("placement variants at the model's level (beat F):")
    for v, r in result["variants"].items():
        print(f"  {v:<24} " + "  ".join(f"{k} {x:.4f}" for k, x in r.items()))
    cv = result["cv"]
    print(f"grouped cross-validation over the variants ({args.folds} folds x {args.repeats}): held-out beat F "
          + "  ".join(f"{k} {v:.4f}" for k, v in cv.items() if k != "chosen") + "; chosen: "
          + ", ".join(f"{k} x{n}" for k, n in cv["chosen"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
