"""Fit the metrical-level model of ``cadenza.music.level`` and cross-validate it, grouped by piece.

Usage: ``python bench/tempo_level_fit.py [DATA_DIR ...] [--model rank|binary] [--c C | --nested] [--folds 5]
[--repeats 1] [--seed 22] [--json]``

Every DATA_DIR (default: ``../shared/data/music``, ``/work/tempo-corpus`` and ``/work/tempo-corpus2``, the
sets built by ``bench/tempo_corpus.py``, the second with ``--mix wide``; those absent are skipped) holds a
``manifest.csv`` with ``id, audio, beats, bpm, source``. The excerpts are pooled; a group is one source file
(a chorale, a quartet movement, or a whole folk-song collection), so the same piece is never on both sides of
a split, even across corpora (:func:`group_of` reads the corpora's two ways of writing a source alike).
``--nested`` chooses C for each outer fold by an inner grouped cross-validation on its training folds alone
(of :data:`C_GRID`, the held-out level choice), and the shipped C by the same over all excerpts. For each level around the first estimate (half, once,
double, and the independent periodicity when there is one) the features of
:data:`cadenza.music.level.LEVEL_FEATURES` are computed once; the label is whether the level is within 8 % of
the annotated tempo (how often one is: the candidate recall, printed per corpus). A logistic regression on the differences between each
excerpt's right and wrong levels (``--model rank``, L2 at ``--c`` 0.1, standardised, no intercept) scores
levels (``--model binary``: each level's features alone, C = 1, as before issue 22's fourth round); the
best-scoring level is chosen. The ambiguity flag is printed at several
thresholds of the level confidence too (to choose ``AMBIGUOUS_LEVEL_CONFIDENCE``).

Printed: the cross-validated figures per corpus (held-out groups only: each excerpt is scored end to end,
tracking its beats at the level the model fitted without its group chose), next to the first estimate
alone, the development figures of the model fitted on everything, and its weights in the form
``LEVEL_WEIGHTS`` takes (paste them into ``src/cadenza/music/level.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tempo import beat_f, tempo_hits  # noqa: E402  (the benchmark's own scoring)

from cadenza.music.tempo import AMBIGUOUS_LEVEL_CONFIDENCE  # noqa: E402

DEFAULT_DIRS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "music", Path("/work/tempo-corpus"),
                Path("/work/tempo-corpus2"))
C_GRID = (0.03, 0.1, 0.3, 1.0)
THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
LABEL_TOLERANCE = 0.08  # a level is "right" within 8 % (rubato moves the median tempo a few per cent)


def group_of(source: str) -> str:
    """The cross-validation group of a manifest ``source``: the score file, or the whole collection for a song of
    an ABC collection, written alike for every corpus (``essenFolksong/kinder#41`` and
    ``essenFolksong/kinder0.abc#57`` are one collection; ``mozart/k80/movement3.mxl`` and
    ``k80/movement3.mxl`` one movement).

    >>> group_of("essenFolksong/kinder#41"), group_of("essenFolksong/kinder0.abc#57"), group_of("k80/movement3.mxl")
    ('essenFolksong/kinder', 'essenFolksong/kinder', 'k80/movement3.mxl')
    """
    parts = source.split("#")[0].split("/")[-2:]
    name = parts[-1].removesuffix(".abc")
    if len(name) > 1 and name.endswith("0") and name[-2].isalpha():  # kinder0.abc is the "kinder" collection
        name = name[:-1]
    return "/".join(parts[:-1] + [name])


def load(dirs: list[Path], extra=None) -> list[dict]:
    """Every excerpt of the manifests in ``dirs``: its onsets, chroma, level candidates and labels; ``extra(spec,
    onsets)`` adds fields of its own from the excerpt's spectrogram (``bench/tempo_beats.py``: band envelopes)."""
    from cadenza.io.audio import load_audio
    from cadenza.music.beats import metrical_level_candidates
    from cadenza.music.level import chroma_frames
    from cadenza.music.onset import compute_spectrogram, onset_envelope_from_spectrogram

    items = []
    for d in dirs:
        with open(d / "manifest.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                audio = load_audio(d / row["audio"], mono=True)
                spec = compute_spectrogram(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
                onsets, chroma = onset_envelope_from_spectrogram(spec), chroma_frames(spec)
                ref_bpm = float(row["bpm"])
                cands = metrical_level_candidates(onsets, chroma)
                items.append({"id": row["id"], "corpus": d.name, "group": group_of(row["source"]),
                              "tempo_curve": row.get("tempo_curve", ""), "degradation": row.get("degradation", ""),
                              "ref_bpm": ref_bpm, "ref_s": np.loadtxt(d / row["beats"], ndmin=2)[:, 0],
                              "onsets": onsets, "chroma": chroma, "cands": cands,
                              "labels": [abs(np.log(c.tempo_bpm / ref_bpm)) < np.log1p(LABEL_TOLERANCE) for c in cands]}
                             | (extra(spec, onsets) if extra is not None else {}))
    return items


def fit(items: list[dict], c_reg: float | None = None, kind: str = "rank") -> tuple[tuple[float, ...], float]:
    """The level model as raw-feature weights and intercept.

    ``rank`` (default, C = 0.1): a logistic regression on the feature differences between the right level
    and each wrong level of the same excerpt (no intercept; standardised differences), which fits the choice
    among an excerpt's levels rather than each level on its own: the difference of two levels' scores is the
    (regularised, so somewhat modest) log-odds that the first is the beat rather than the second, and the
    intercept is 0 (only differences within an excerpt count). ``binary`` (C = 1): one logistic regression on
    each level's features alone, with an intercept."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([c.features for it in items for c in it["cands"]], dtype=float)
    y = np.array([lab for it in items for lab in it["labels"]])
    if kind == "binary":
        mu, sd = x.mean(axis=0), x.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        model = LogisticRegression(C=1.0 if c_reg is None else c_reg, max_iter=5000).fit((x - mu) / sd, y)
        w = model.coef_[0] / sd
        return tuple(float(v) for v in w), float(model.intercept_[0] - w @ mu)
    diffs = []
    for it in items:
        f, lab = np.array([c.features for c in it["cands"]], dtype=float), np.array(it["labels"], dtype=bool)
        diffs += [f[i] - f[j] for i in np.flatnonzero(lab) for j in np.flatnonzero(~lab)]
    d = np.array(diffs)
    sd = d.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    pairs = LogisticRegression(C=0.1 if c_reg is None else c_reg, fit_intercept=False, max_iter=5000).fit(
        np.vstack([d / sd, -d / sd]), np.r_[np.ones(len(d)), np.zeros(len(d))])
    w = pairs.coef_[0] / sd
    return tuple(float(v) for v in w), 0.0


def track(item: dict, model) -> tuple[float, np.ndarray, float]:
    from cadenza.music.beats import track_beats_from_envelope

    t = track_beats_from_envelope(item["onsets"], chroma=item["chroma"], level_model=model)
    return t.tempo_bpm, t.beat_times_s, t.alternative_tempo_bpm, t.level_confidence


def choice_accuracy(items: list[dict], c_reg: float, kind: str, folds: int, seed: int) -> float:
    """Held-out level choice (the chosen level's label, no beat tracking) of one grouped cross-validation."""
    groups = sorted({it["group"] for it in items})
    fold_of = {g: i % folds for i, g in enumerate(np.random.default_rng(seed).permutation(groups))}
    hits = []
    for k in range(folds):
        w, b = fit([it for it in items if fold_of[it["group"]] != k], c_reg, kind)
        for it in items:
            if fold_of[it["group"]] == k:
                scores = [b + np.dot(w, c.features) for c in it["cands"]]
                hits.append(bool(it["labels"][int(np.argmax(scores))]))
    return float(np.mean(hits))


def choose_c(items: list[dict], kind: str, seed: int, folds: int = 4, repeats: int = 2) -> float:
    """The C of :data:`C_GRID` whose inner grouped cross-validation chooses the right level most often (the
    smaller C on a tie)."""
    acc = {c: np.mean([choice_accuracy(items, c, kind, folds, seed + r) for r in range(repeats)]) for c in C_GRID}
    return max(C_GRID, key=lambda c: (round(acc[c], 9), -c))


def score(rows: list[dict]) -> dict:
    out = {}
    for label, lo, hi in (("all", 0, 1e9), ("<80", 0, 80), ("80-120", 80, 120), (">=120", 120, 1e9)):
        sel = [r for r in rows if lo <= r["ref_bpm"] < hi]
        if sel:
            out[label] = {"n": len(sel), "acc1_pct": 100 * np.mean([r["acc1"] for r in sel]),
                          "acc2_pct": 100 * np.mean([r["acc2"] for r in sel]),
                          "beat_f": float(np.mean([r["f"] for r in sel]))}
    # The ambiguity flag: misses flagged (the page then offers the other level too), correct ones flagged.
    misses = [r for r in rows if not r["acc1"]]
    out["flag"] = {"misses": len(misses), "misses_flagged": sum(r["ambiguous"] for r in misses),
                   "misses_alternative_right": sum(r["alternative_acc1"] for r in misses),
                   "misses_alternative_right_flagged": sum(r["ambiguous"] and r["alternative_acc1"] for r in misses),
                   "correct": len(rows) - len(misses),
                   "correct_flagged": sum(r["ambiguous"] for r in rows if r["acc1"]),
                   "offered_right_pct": 100 * np.mean([r["acc1"] or (r["ambiguous"] and r["alternative_acc1"])
                                                       for r in rows])}
    # The same at other thresholds of the level confidence (to choose AMBIGUOUS_LEVEL_CONFIDENCE).
    conf = np.array([r["level_confidence"] if np.isfinite(r["level_confidence"]) else 1.0 for r in rows])
    right = np.array([bool(r["acc1"]) for r in rows])
    alt_right = np.array([bool(r["alternative_acc1"]) for r in rows])
    out["flag_by_threshold"] = {f"{t:.2f}": {"misses_flagged": int(np.sum(~right & (conf < t))),
                                             "correct_flagged": int(np.sum(right & (conf < t))),
                                             "offered_right_pct": float(100 * np.mean(right | ((conf < t) & alt_right)))}
                                for t in THRESHOLDS}
    return out


def evaluate(item: dict, model) -> dict:
    bpm, beats, alternative_bpm, level_confidence = track(item, model)
    ambiguous = bool(np.isfinite(level_confidence) and level_confidence < AMBIGUOUS_LEVEL_CONFIDENCE)
    acc1, acc2 = tempo_hits(bpm, item["ref_bpm"])
    return {"ref_bpm": item["ref_bpm"], "acc1": acc1, "acc2": acc2, "f": beat_f(item["ref_s"], beats),
            "corpus": item["corpus"], "id": item["id"], "ambiguous": ambiguous, "level_confidence": level_confidence,
            "alternative_acc1": tempo_hits(alternative_bpm, item["ref_bpm"])[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", nargs="*", type=Path, default=list(DEFAULT_DIRS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="random group-to-fold assignments (default 1)")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--model", choices=("rank", "binary"), default="rank",
                        help="rank: fit the choice among an excerpt's levels (default); binary: each level alone")
    parser.add_argument("--c", type=float, default=None,
                        help="inverse L2 strength of the logistic fit (default 0.1 rank, 1 binary)")
    parser.add_argument("--nested", action="store_true",
                        help="choose C by an inner grouped cross-validation (per outer fold, and for the shipped fit)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    given = args.data_dirs != list(DEFAULT_DIRS)
    for d in args.data_dirs:
        if not (d / "manifest.csv").is_file() and given:
            print(f"no manifest.csv in {d}", file=sys.stderr)
            return 2
    args.data_dirs = [d for d in args.data_dirs if (d / "manifest.csv").is_file()]
    items = [it for it in load(args.data_dirs) if it["cands"]]
    groups = sorted({it["group"] for it in items})
    rng = np.random.default_rng(args.seed)
    held: list[dict] = []
    chosen_c: list[float] = []
    for r in range(args.repeats):
        fold_of = {g: i % args.folds for i, g in enumerate(rng.permutation(groups))}
        for k in range(args.folds):
            train = [it for it in items if fold_of[it["group"]] != k]
            c_reg = choose_c(train, args.model, args.seed + 100 * r + k) if args.nested else args.c
            chosen_c.append(c_reg)
            model = fit(train, c_reg, args.model)
            held += [evaluate(it, model) for it in items if fold_of[it["group"]] == k]
    from cadenza.music.level import LEVEL_FEATURES

    only_first = tuple(float(name == "first_estimate") for name in LEVEL_FEATURES)
    first = [evaluate(it, (only_first, 0.0)) for it in items]  # the first estimate alone
    shipped_c = choose_c(items, args.model, args.seed) if args.nested else args.c
    full_model = fit(items, shipped_c, args.model)
    full = [evaluate(it, full_model) for it in items]
    corpora = sorted({it["corpus"] for it in items})
    result = {"n": len(items), "groups": len(groups), "folds": args.folds, "repeats": args.repeats,
              "c_per_fold": chosen_c, "c_shipped": shipped_c,
              "weights": full_model[0], "intercept": full_model[1], "corpora": {}}
    for name in corpora + ["pooled"]:
        pick = (lambda rows: [r for r in rows if name == "pooled" or r["corpus"] == name])
        result["corpora"][name] = {"first_estimate": score(pick(first)), "cross_validated": score(pick(held)),
                                   "fitted_on_all": score(pick(full))}
        chosen_from = [it for it in items if name == "pooled" or it["corpus"] == name]
        result["corpora"][name]["candidates"] = {
            "recall_pct": 100 * float(np.mean([any(it["labels"]) for it in chosen_from])),
            "per_excerpt": float(np.mean([len(it["cands"]) for it in chosen_from]))}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{len(items)} excerpts, {len(groups)} groups, {args.folds} folds x {args.repeats} repeats")
    if args.nested:
        print(f"C per outer fold (inner grouped CV): {chosen_c}; shipped C: {shipped_c}")
    for name, res in result["corpora"].items():
        print(f"{name:<12} right tempo (within 8 %) among the candidate levels: {res['candidates']['recall_pct']:.1f} % "
              f"({res['candidates']['per_excerpt']:.2f} levels per excerpt)")
        for kind, rows in res.items():
            if kind == "candidates":
                continue
            cells = [f"{k} {v['acc1_pct']:.1f}% (Acc2 {v['acc2_pct']:.1f}, F {v['beat_f']:.3f}, n={v['n']})"
                     for k, v in rows.items() if k not in ("flag", "flag_by_threshold")]
            fl = rows["flag"]
            print(f"{name:<12} {kind:<16} " + "; ".join(cells))
            if kind != "first_estimate":  # the first estimate alone has no level confidence
                print(f"{'':<12} {'':<16} flag: {fl['misses_flagged']} of {fl['misses']} misses flagged "
                      f"({fl['misses_alternative_right_flagged']} of the {fl['misses_alternative_right']} whose other "
                      f"level is right); {fl['correct_flagged']} of {fl['correct']} correct flagged; right tempo shown "
                      f"{fl['offered_right_pct']:.1f} %")
                print(f"{'':<12} {'':<16} flag at other thresholds (misses / correct flagged, right shown): " + "; ".join(
                    f"{t} {v['misses_flagged']}/{v['correct_flagged']} {v['offered_right_pct']:.1f} %"
                    for t, v in rows["flag_by_threshold"].items()))
    print("LEVEL_WEIGHTS = (" + ", ".join(f"{w:.4g}" for w in full_model[0]) + ")")
    print(f"LEVEL_INTERCEPT = {full_model[1]:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
