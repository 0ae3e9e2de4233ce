"""Beat placement given the metrical level: where beat F is lost, and the placement variants cross-validated.

Usage: ``python bench/tempo_beats.py [DATA_DIR ...] [--folds 5] [--repeats 3] [--seed 22] [--json]``

DATA_DIRs as in ``bench/tempo_level_fit.py`` (default: ``../shared/data/music`` and ``/work/tempo-corpus``,
pooled; a group is one source file or ABC collection, ``tempo_level_fit.group_of``). For every excerpt the beats are placed twice: at the level the model
chooses (what the tracker ships) and at the candidate level nearest the annotated tempo (the *oracle* level:
placement alone). Printed:

- beat F (+-70 ms, ``mir_eval`` after ``trim_beats``) at both levels, per corpus, tempo curve and condition,
  with and without the attack-lag correction; the difference between the levels is what the level choice costs;
- at the oracle level, every annotated beat sorted by where the nearest tracked beat is: a hit (within
  70 ms); within a quarter period, late or early with the excerpt's systematic offset (the median offset
  of the beats within a quarter period is beyond 25 ms and this beat is off the same way), else drifted;
  beyond it, on the off-beat (half a period away, +-70 ms + 10 % of the period), else drifted; and the
  tracked beats that match no annotation, before the first or after the last annotated beat (the tracker
  beating on through a silent or noisy tail) or in between;
- the placement variants (evidence the programme runs on: the plain envelope, its square root or
  ``log(1 + x)``; tightness 50, 100 or 200) at the model's level, and grouped cross-validation over them:
  each fold is scored with the variant whose mean beat F was best on the other folds;
- the attack-lag correction (``cadenza.music.beats.attack_lag_s``: every beat of an excerpt moved earlier by
  a lag read from how slowly its envelope rises into the beats) off and on a grid of (ms per unit of rise,
  rise left alone), at the model's level with the shipped evidence, cross-validated the same way;
- the band envelopes placement runs on (``cadenza.music.beats.placement_envelope``: the filterbank split into
  1 (the plain envelope), 2, 3 or 6 parts, each weighted by its own periodicity at the beat period), at the
  model's level, cross-validated the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tempo_level_fit  # noqa: E402  (its loader and cross-validation groups)
from tempo import beat_f  # noqa: E402  (the benchmark's own scoring)

DEFAULT_DIRS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "music", Path("/work/tempo-corpus"))
EVIDENCE = {"plain": lambda e: e, "sqrt": np.sqrt, "log1p": np.log1p}
TIGHTNESS = (50.0, 100.0, 200.0)
SHIPPED = ("log1p", 100.0)
#: (ms per unit of rise, rise left alone) of the attack-lag correction; None is no correction.
LAG_GRID = [None] + [(k, t) for k in (100.0, 144.0, 180.0) for t in (0.05, 0.1, 0.15)]
BAND_GROUPS = (1, 2, 3, 6)
TOLERANCE_S = 0.07


def load(dirs: list[Path]) -> list[dict]:
    """``tempo_level_fit.load``'s excerpts (grouped by ``tempo_level_fit.group_of``), with the band envelopes and
    the model's and the oracle's level; excerpts with no level candidate are left out."""
    from cadenza.music.level import choose_level
    from cadenza.music.onset import onset_envelope_from_spectrogram

    def band_envelopes(spec, _onsets) -> dict:
        return {"by_groups": {g: onset_envelope_from_spectrogram(spec, band_groups=g) for g in BAND_GROUPS}}

    items = []
    for it in tempo_level_fit.load(dirs, extra=band_envelopes):
        cands = it.pop("cands")
        if not cands:
            continue
        for unused in ("chroma", "labels"):
            it.pop(unused)
        it["model_bpm"] = choose_level(cands)[0].tempo_bpm
        it["oracle_bpm"] = min((c.tempo_bpm for c in cands), key=lambda t: abs(np.log(t / it["ref_bpm"])))
        items.append(it)
    return items


def place(onsets, tempo_bpm: float, evidence: str, tightness: float, lag=None) -> np.ndarray:
    """The tracker's placement (``cadenza.music.beats.beats_at_tempo``) with another evidence or tightness, and
    the attack-lag correction ``lag`` (ms per unit of rise, rise left alone; None: no correction)."""
    from cadenza.music import beats as b
    from cadenza.music.tempo import local_period_frames

    env, fr = onsets.strength, onsets.frame_rate_hz
    period = local_period_frames(env, frame_rate_hz=fr, tempo_bpm=tempo_bpm)
    placed_on = np.maximum(b.placement_envelope(onsets, tempo_bpm), 0.0)
    idx = b._trim_weak_ends(b._dp_beats(EVIDENCE[evidence](placed_on), period, tightness), env)
    idx = b._trim_after_music_ends(idx, onsets.level_db)
    return with_lag(onsets, b._refine(idx, env) / fr, lag)


def with_lag(onsets, beat_times_s: np.ndarray, lag) -> np.ndarray:
    """The beats moved earlier by ``cadenza.music.beats.attack_lag_s`` with (ms per unit, rise left alone) = ``lag``."""
    from cadenza.music import beats as b

    if lag is None or beat_times_s.size < 4:
        return beat_times_s
    rise = b.attack_rise(onsets.strength, beat_times_s, frame_rate_hz=onsets.frame_rate_hz)
    lag_s = min(lag[0] / 1000.0 * max(0.0, rise - lag[1]), b.ATTACK_LAG_MAX_S,
                b.ATTACK_LAG_MAX_PERIOD * float(np.median(np.diff(beat_times_s))))
    out = beat_times_s - lag_s
    return out[out >= 0.0]


def shipped_lag() -> tuple[float, float]:
    from cadenza.music import beats as b

    return (b.ATTACK_LAG_MS_PER_RISE, b.ATTACK_RISE_FREE)


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
    lag0 = shipped_lag()
    for it in items:
        it["f_model"] = {v: beat_f(it["ref_s"], place(it["onsets"], it["model_bpm"], *v, lag=lag0)) for v in variants}
        at_model = place(it["onsets"], it["model_bpm"], *SHIPPED)
        it["f_lag"] = {lag: beat_f(it["ref_s"], with_lag(it["onsets"], at_model, lag)) for lag in LAG_GRID}
        unlagged = place(it["onsets"], it["oracle_bpm"], *SHIPPED)
        oracle = with_lag(it["onsets"], unlagged, lag0)
        it["f_oracle"] = beat_f(it["ref_s"], oracle)
        it["f_oracle_nolag"] = beat_f(it["ref_s"], unlagged)
        it["losses"] = losses(it["ref_s"], oracle)
        it["losses_nolag"] = losses(it["ref_s"], unlagged)
        it["f_groups"] = {g: beat_f(it["ref_s"], place(on, it["model_bpm"], *SHIPPED, lag=lag0))
                          for g, on in it.pop("by_groups").items()}

    def mean(rows, key):
        return float(np.mean([key(r) for r in rows])) if rows else float("nan")

    subsets = {"pooled": items}
    for c in sorted({it["corpus"] for it in items}):
        subsets[c] = [it for it in items if it["corpus"] == c]
    for field in ("tempo_curve", "degradation"):
        for v in sorted({it[field] for it in items if it[field]}):
            subsets[f"{field}={v}"] = [it for it in items if it[field] == v]
    result: dict = {"n": len(items), "subsets": {}, "variants": {}, "lags": {}, "groups": {}, "cv": {}, "cv_lag": {},
                    "cv_groups": {}}
    for name, rows in subsets.items():
        total = {k: int(sum(r["losses"][k] for r in rows)) for k in rows[0]["losses"]}
        total_nolag = {k: int(sum(r["losses_nolag"][k] for r in rows)) for k in rows[0]["losses"]}
        result["subsets"][name] = {"n": len(rows), "f_model_level": mean(rows, lambda r: r["f_model"][SHIPPED]),
                                   "f_model_level_nolag": mean(rows, lambda r: r["f_lag"][None]),
                                   "f_oracle_level": mean(rows, lambda r: r["f_oracle"]),
                                   "f_oracle_level_nolag": mean(rows, lambda r: r["f_oracle_nolag"]), "losses": total,
                                   "losses_nolag": total_nolag}
    for v in variants:
        result["variants"][f"{v[0]} / tightness {v[1]:.0f}"] = {
            name: mean(subsets[name], lambda r: r["f_model"][v]) for name in subsets if "=" not in name}
    for lag in LAG_GRID:
        result["lags"][lag_name(lag)] = {
            name: mean(subsets[name], lambda r: r["f_lag"][lag]) for name in subsets if "=" not in name}
    result["cv"] = cross_validate(items, variants, "f_model", lambda v: f"{v[0]} / tightness {v[1]:.0f}", args)
    result["cv_lag"] = cross_validate(items, LAG_GRID, "f_lag", lag_name, args)
    for g in BAND_GROUPS:
        result["groups"][group_name(g)] = {
            name: mean(subsets[name], lambda r: r["f_groups"][g]) for name in subsets if "=" not in name}
    result["cv_groups"] = cross_validate(items, list(BAND_GROUPS), "f_groups", group_name, args)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{len(items)} excerpts; beat F at the model's level and at the oracle level (placement {SHIPPED[0]}, "
          f"tightness {SHIPPED[1]:.0f}, attack-lag correction as shipped)")
    for name, r in result["subsets"].items():
        lo = r["losses"]
        print(f"  {name:<26} n={r['n']:>3}  model level {r['f_model_level']:.3f}  "
              f"oracle level {r['f_oracle_level']:.3f}  | annotated beats "
              f"{lo['beats']}: hit {lo['hit']}, off-beat {lo['off_beat']}, late {lo['late']}, early {lo['early']}, "
              f"drift {lo['drift']}; unmatched tracked beats before/after/within {lo['extra_before']}/"
              f"{lo['extra_after']}/{lo['extra_within']}")
    print("without the attack-lag correction (model level / oracle level; annotated beats at the oracle level):")
    for name, r in result["subsets"].items():
        lo = r["losses_nolag"]
        print(f"  {name:<26} n={r['n']:>3}  model level {r['f_model_level_nolag']:.3f}  oracle level "
              f"{r['f_oracle_level_nolag']:.3f}  | hit {lo['hit']}, off-beat {lo['off_beat']}, late {lo['late']}, "
              f"early {lo['early']}, drift {lo['drift']}; unmatched {lo['extra_before']}/{lo['extra_after']}/"
              f"{lo['extra_within']}")
    for title, key, cv_key in (("placement variants at the model's level (beat F, shipped lag)", "variants", "cv"),
                               ("attack-lag correction at the model's level (beat F, shipped evidence)", "lags",
                                "cv_lag"),
                               ("band envelopes placed on, at the model's level (beat F, shipped evidence and lag)",
                                "groups", "cv_groups")):
        print(title + ":")
        for v, r in result[key].items():
            print(f"  {v:<28} " + "  ".join(f"{k} {x:.4f}" for k, x in r.items()))
        cv = result[cv_key]
        print(f"grouped cross-validation ({args.folds} folds x {args.repeats}): held-out beat F "
              + "  ".join(f"{k} {v:.4f}" for k, v in cv.items() if k != "chosen") + "; chosen: "
              + ", ".join(f"{k} x{n}" for k, n in cv["chosen"].items()))
    return 0


def group_name(groups: int) -> str:
    return "plain envelope (1 part)" if groups == 1 else f"{groups} band parts by periodicity"


def lag_name(lag) -> str:
    return "no lag correction" if lag is None else f"lag {lag[0]:.0f} ms/unit above {lag[1]:.2f}"


def cross_validate(items: list[dict], options: list, key: str, name, args) -> dict:
    """Grouped folds: each fold scored with the option whose mean ``it[key][option]`` was best on the others."""
    groups = sorted({it["group"] for it in items})
    rng = np.random.default_rng(args.seed)
    held, chosen = [], []
    for _ in range(args.repeats):
        fold_of = {g: i % args.folds for i, g in enumerate(rng.permutation(groups))}
        for k in range(args.folds):
            train = [it for it in items if fold_of[it["group"]] != k]
            best = max(options, key=lambda v: np.mean([it[key][v] for it in train]))
            chosen.append(name(best))
            held += [(it["corpus"], it[key][best]) for it in items if fold_of[it["group"]] == k]
    return {"chosen": {c: chosen.count(c) for c in sorted(set(chosen))}, "pooled": float(np.mean([f for _, f in held])),
            **{c: float(np.mean([f for cc, f in held if cc == c])) for c in sorted({it["corpus"] for it in items})}}


if __name__ == "__main__":
    raise SystemExit(main())
