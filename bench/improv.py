"""Improvisation benchmark: tempo of played drum MIDI, side by side with librosa, and the speed of a
20-minute two-player session.

Usage: ``python bench/improv.py [DATA_DIR] [--holdout DIR] [--json] [--verbose] [--skip-robustness]``

DATA_DIR (default ``../shared/data/midi/groove/`` next to the repo) is the Groove MIDI selection; its
``index.csv`` gives each file's metronome BPM (also in the file name). Scoring: a file's tempo is right
when within +-2 % of that BPM ("exact"; the metrical level must be the one the drummer was given), and
"any level" also accepts 1/3, 1/2, 2 and 3 times it. Neither method reads the file's tempo meta-event:
both see only the note-on times and velocities.

* ``cadenza``: ``tempo_bpm`` of :func:`cadenza.improv.analyze_take` on :func:`cadenza.io.load_midi_take`.
* ``librosa``: ``librosa.feature.tempo`` (its default log-normal prior at 120 BPM) on the same
  velocity-weighted onset envelope (:func:`cadenza.improv.pulse.onset_envelope`, 200 frames/s); its
  tempogram is averaged in blocks of frames (:func:`librosa_tempo`: the same estimate, a few MB instead
  of GBs).

The development figure is on every "beat" file here (the pulse estimator's prior and its metrical-level
weights were chosen on them). The cross-validation figure is leave-one-drummer-out: the level weights
(:data:`cadenza.improv.pulse.LEVEL_WEIGHTS`, for takes with accents: every beat file here) are fitted again (pairwise logistic regression over each file's level candidates, as for the defaults)
on the other drummers and scored on the drummer left out (the odd-division penalty,
:data:`cadenza.improv.pulse.ODD_DIVISION_PENALTY`, is set, not fitted: every fold subtracts it alike). "either level" counts a file right when the
tempo or, for a file flagged ambiguous (level confidence below the threshold), its alternative is. ``--holdout DIR`` (default:
``../shared/holdout/midi/groove/`` when present) scores a held-back folder with the same layout apart.

Robustness (issue 19, branch ``improv5``): every beat file perturbed in ways that keep the
performance (:data:`PERTURBATIONS`: a drum voice left out, thinned hi-hats, compressed velocities,
30-s and 60-s windows, a late start; :func:`perturb`), scored exactly as the files are, with the
development weights and with the weights of the fold that left the file's drummer out, librosa
alongside; "moved" is the share whose estimate is no longer the unperturbed file's. An estimate
that moves under these moves on the drummers we have not seen. Synthetic melodies
(:func:`synthetic_melodies`, 92 per accent pattern) check that the drum-fitted level score does not
read single-line melodies at double time.

Speed: a 20-minute duet built from real performances (player 1: the beat files end to end, on the drum
channel so the kit's roles are read; player 2: every other note of the same, 120 ms later) written as a
two-track MIDI file, then read and analysed; best of 3 runs, in seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data" / "midi" / "groove"
DEFAULT_HOLDOUT_DIR = ROOT.parent / "shared" / "holdout" / "midi" / "groove"
TOLERANCE = 0.02
L2 = 0.003  # the fit's ridge penalty (as for the defaults)
SESSION_S = 20 * 60.0


def load_index(data_dir: Path) -> list[dict]:
    with open(data_dir / "index.csv", newline="") as f:
        return list(csv.DictReader(f))


def drum_pitches(take) -> np.ndarray | None:
    """The notes' drum-kit note numbers when every player of the take is percussion (a Groove file:
    one channel-10 player), else None: what :func:`cadenza.improv.analyze_take` hands the estimator."""
    return take.notes.pitches if all(take.is_percussion(p) for p in take.player_names) else None


def cadenza_tempo(take, **prior) -> float:
    from cadenza.improv import analyze_take
    from cadenza.improv.pulse import estimate_pulse

    if prior:
        return estimate_pulse(take.notes.onset_times_s, velocities=take.notes.velocities,
                              drum_pitches=drum_pitches(take), **prior).tempo_bpm
    return analyze_take(take).tempo_bpm


LIBROSA_CHUNK_FRAMES = 400


def librosa_tempo(take) -> float:
    """:func:`librosa_tempo_of` a take's notes."""
    return librosa_tempo_of(take.notes.onset_times_s, take.notes.velocities)


def librosa_tempo_of(onset_times_s: np.ndarray, velocities: np.ndarray) -> float:
    """``librosa.feature.tempo`` with its defaults on the onset envelope. Its tempogram has one
    8-s autocorrelation window per envelope frame (1600 lags x 200 frames/s: 0.7 GB for a 4-minute
    file, 3-4 GB with the FFT's temporaries), and tempo() only takes its mean over frames; so the
    same tempogram is computed in blocks of frames (librosa's own centring and per-frame
    normalisation) and its mean handed to tempo(): the same estimate, in a few MB."""
    import librosa

    from cadenza.improv.pulse import FRAME_RATE_HZ, onset_envelope

    env = onset_envelope(onset_times_s, weights=np.asarray(velocities, dtype=float) / 127.0)
    win = int(librosa.time_to_frames(8.0, sr=FRAME_RATE_HZ, hop_length=1))  # tempo()'s ac_size
    padded = np.pad(env, (win // 2, win // 2), mode="linear_ramp", end_values=(0, 0))  # as center=True
    total = np.zeros(win)
    for start in range(0, env.size, LIBROSA_CHUNK_FRAMES):
        stop = min(start + LIBROSA_CHUNK_FRAMES, env.size)
        block = librosa.feature.tempogram(onset_envelope=padded[start:stop + win - 1], sr=FRAME_RATE_HZ,
                                          hop_length=1, win_length=win, center=False)
        total += block.sum(axis=1)
    mean_tg = (total / env.size)[:, None]
    return float(librosa.feature.tempo(tg=mean_tg, sr=FRAME_RATE_HZ, hop_length=1)[0])


def librosa_tempo_unchunked(take) -> float:
    """librosa's own call, for checking :func:`librosa_tempo` (memory-hungry on long files)."""
    import librosa

    from cadenza.improv.pulse import FRAME_RATE_HZ, onset_envelope

    env = onset_envelope(take.notes.onset_times_s, weights=take.notes.velocities / 127.0)
    return float(librosa.feature.tempo(onset_envelope=env, sr=FRAME_RATE_HZ, hop_length=1)[0])


def correct(estimate_bpm: float, truth_bpm: float, *, any_level: bool = False) -> bool:
    factors = (1.0, 1 / 3, 0.5, 2.0, 3.0) if any_level else (1.0,)
    return bool(np.isfinite(estimate_bpm)) and any(abs(estimate_bpm * f / truth_bpm - 1) <= TOLERANCE for f in factors)


def score_folder(data_dir: Path, *, kind: str = "beat", verbose: bool = False) -> dict:
    from cadenza.io import load_midi_take

    rows = [r for r in load_index(data_dir) if r["beat_or_fill"] == kind]
    files = []
    for r in rows:
        take, _ = load_midi_take(data_dir / r["file"])
        truth = float(r["bpm"])
        est = {"cadenza": cadenza_tempo(take), "librosa": librosa_tempo(take)}
        from cadenza.improv.pulse import estimate_pulse

        pulse = estimate_pulse(take.notes.onset_times_s, velocities=take.notes.velocities,
                               drum_pitches=drum_pitches(take))
        files.append({"file": r["file"], "drummer": r["drummer"], "bpm": truth, "take": take,
                      "time_signature": r.get("time_signature", ""),
                      **{f"{m}_bpm": round(v, 3) for m, v in est.items()},
                      "cadenza_alternative_bpm": round(pulse.alternative_tempo_bpm, 3),
                      "cadenza_level_confidence": round(pulse.level_confidence, 3),
                      "cadenza_level_ambiguous": pulse.level_ambiguous})
        if verbose:
            print(f"  {r['file']:70s} {truth:6.1f}  cadenza {est['cadenza']:7.2f}  librosa {est['librosa']:7.2f}",
                  file=sys.stderr)
    out = {"n_files": len(files)}
    for m in ("cadenza", "librosa"):
        out[m] = {"exact_pct": 100 * np.mean([correct(f[f"{m}_bpm"], f["bpm"]) for f in files]) if files else None,
                  "any_level_pct": 100 * np.mean([correct(f[f"{m}_bpm"], f["bpm"], any_level=True) for f in files])
                  if files else None}
    if files:
        out["cadenza"]["either_level_pct"] = 100 * np.mean([
            correct(f["cadenza_bpm"], f["bpm"]) or (f["cadenza_level_ambiguous"]
                                                    and correct(f["cadenza_alternative_bpm"], f["bpm"])) for f in files])
        out["cadenza"]["ambiguous_pct"] = 100 * np.mean([f["cadenza_level_ambiguous"] for f in files])
    for m in ("cadenza", "librosa"):
        err = [100 * abs(f[f"{m}_bpm"] / f["bpm"] - 1) for f in files if correct(f[f"{m}_bpm"], f["bpm"])]
        out[m]["median_error_pct_of_exact"] = round(float(np.median(err)), 3) if err else None
        out[m]["max_error_pct_of_exact"] = round(float(np.max(err)), 3) if err else None
    out["files"] = files
    return out


def triplet_feel(files: list[dict]) -> list[dict]:
    """The files whose chosen level carries a triplet grid (alignment at a third of the beat over 0.5 and
    over twice that at a quarter): the 12/8 feel, shuffles and swing. With their notated meter: a
    compound meter (6/8, 12/8) counted in quarter notes, as the MIDI tempo of a Groove file is, would
    need the dotted quarter x 3/2, and these show what such a rule would do to the files here."""
    from cadenza.improv.pulse import level_candidates

    out = []
    for f in files:
        n = f["take"].notes
        bpm, features = level_candidates(n.onset_times_s, velocities=n.velocities, drum_pitches=drum_pitches(f["take"]))
        if not bpm.size or not np.isfinite(f["cadenza_bpm"]):
            continue
        k = int(np.argmin(np.abs(bpm - f["cadenza_bpm"])))
        sixteenths, triplets = features[k, 2], features[k, 3]
        if triplets > 0.5 and triplets > 2 * sixteenths:
            out.append({"file": f["file"], "time_signature": f["time_signature"], "bpm": f["bpm"],
                        "cadenza_bpm": f["cadenza_bpm"], "right": correct(f["cadenza_bpm"], f["bpm"]),
                        "right_if_x1.5": correct(1.5 * f["cadenza_bpm"], f["bpm"])})
    return out


def _pairwise_differences(candidates: list[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """For every file whose right level is among its candidates (and not all of them): the right
    candidates' mean features minus each wrong candidate's."""
    diffs = []
    for bpm, features, truth in candidates:
        right = np.abs(bpm / truth - 1) <= 0.03
        if right.any() and not right.all():
            diffs += list(features[right].mean(axis=0) - features[~right])
    return np.asarray(diffs)


def _logistic_fit(d: np.ndarray, offset: np.ndarray | float = 0.0) -> np.ndarray:
    """Weights w minimising mean log(1 + exp(-(offset + d @ w))) + L2 / 2 |w|^2 (gradient descent)."""
    w = np.zeros(d.shape[1])
    for _ in range(3000):
        w -= 0.5 * (-(d * (1 / (1 + np.exp(offset + d @ w)))[:, None]).mean(axis=0) + L2 * w)
    return w


def fit_level_weights(candidates: list[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """Pairwise logistic regression: for every file whose right level is among its candidates, the
    right candidate's features minus each wrong one's should score > 0 (ridge ``L2``). With the kit's
    features (:data:`cadenza.improv.pulse.KIT_LEVEL_FEATURES`), the meter's weight (the last) is fitted
    after the others, with them held: fitted together, it moves the other weights and costs files
    that the meter does not concern (bench/RESULTS.md, issue 19, branch improv8)."""
    from cadenza.improv.pulse import KIT_LEVEL_FEATURES

    d = _pairwise_differences(candidates)
    if d.shape[1] != len(KIT_LEVEL_FEATURES):
        return _logistic_fit(d)
    first = _logistic_fit(d[:, :-1])
    return np.r_[first, _logistic_fit(d[:, -1:], offset=d[:, :-1] @ first)]


def cross_validate(files: list[dict]) -> dict:
    """Leave one drummer out: the level weights fitted on the others, scored on the one left out."""
    from cadenza.improv.pulse import estimate_pulse, level_candidates

    cands = [(*level_candidates(f["take"].notes.onset_times_s, velocities=f["take"].notes.velocities,
                                drum_pitches=drum_pitches(f["take"])), f["bpm"]) for f in files]
    all_weights = fit_level_weights(cands)
    hits, chosen, fold = [], {}, {}
    for drummer in sorted({f["drummer"] for f in files}):
        train = [c for c, f in zip(cands, files) if f["drummer"] != drummer]
        w = fit_level_weights(train)
        chosen[drummer] = [round(float(v), 2) for v in w]
        fold[drummer] = w
        for f in files:
            if f["drummer"] == drummer:
                n = f["take"].notes
                hits.append(correct(estimate_pulse(n.onset_times_s, velocities=n.velocities,
                                                   drum_pitches=drum_pitches(f["take"]),
                                                   level_weights=tuple(w)).tempo_bpm, f["bpm"]))
    return {"exact_pct": 100 * float(np.mean(hits)), "n_files": len(hits),
            "level_weights_fitted_on_all": [round(float(v), 2) for v in all_weights],
            "level_weights_by_held_out_drummer": chosen, "fold_weights": fold}


#: Perturbations of a performance that keep what was played: a drum voice left out (General MIDI /
#: Roland TD-11 note numbers, as in the Groove MIDI files), every other hi-hat or ride note left out,
#: velocities compressed towards 80 (x0.35), a 30-s or 60-s window (files longer than it plus 2 s), and
#: a start 0.3-3 s into the take.
PERTURBATIONS = ("no_kick", "no_snare", "no_cymbals", "thin_hats", "compress", "crop30", "crop60", "offset")
DRUM_VOICES = {"kick": (35, 36), "snare": (37, 38, 40),
               "cymbals": (22, 26, 42, 44, 46, 51, 53, 59)}  # hi-hats (closed, open, pedal) and ride
COMPRESSION = 0.35
COMPRESSION_CENTRE = 80.0


def perturb(onset_times_s: np.ndarray, pitches: np.ndarray, velocities: np.ndarray, kind: str,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(onset times s, velocities, pitches) of a perturbed performance (see :data:`PERTURBATIONS`), times
    from the window's or the late start's first instant; None when the take is too short for the
    crop or fewer than 8 notes would be left."""
    t, p = np.asarray(onset_times_s, dtype=float), np.asarray(pitches)
    v = np.asarray(velocities, dtype=float)
    keep = np.ones(t.size, dtype=bool)
    if kind in ("no_kick", "no_snare", "no_cymbals"):
        keep = ~np.isin(p, DRUM_VOICES[kind[3:]])
    elif kind == "thin_hats":
        cymbals = np.flatnonzero(np.isin(p, DRUM_VOICES["cymbals"]))
        keep[cymbals[1::2]] = False
    elif kind == "compress":
        v = np.clip(np.round(COMPRESSION_CENTRE + (v - COMPRESSION_CENTRE) * COMPRESSION), 1, 127)
    elif kind in ("crop30", "crop60"):
        length_s = float(kind[4:])
        if t.size == 0 or t.max() <= length_s + 2.0:
            return None
        start_s = rng.uniform(0.0, float(t.max()) - length_s)
        keep = (t >= start_s) & (t < start_s + length_s)
        t = t - start_s
    elif kind == "offset":
        start_s = rng.uniform(0.3, 3.0)
        keep = t >= start_s
        t = t - start_s
    else:
        raise ValueError(f"kind must be one of {PERTURBATIONS!r}, got {kind!r}")
    if keep.sum() < 8:
        return None
    return t[keep], v[keep], p[keep]


def robustness(files: list[dict], fold_weights: dict[str, np.ndarray], *, with_librosa: bool = True,
               seed: int = 0) -> dict:
    """Exact-level accuracy on perturbed performances (:func:`perturb`), per perturbation and overall:
    cadenza with the development weights, cadenza with the weights fitted without the file's drummer
    (the leave-one-drummer-out fold's), librosa; and the share of files whose estimate moved (by
    more than the tolerance) from the unperturbed file's ("flipped")."""
    from cadenza.improv.pulse import estimate_pulse

    rng = np.random.default_rng(seed)
    rows = []
    for kind in PERTURBATIONS:
        for f in files:
            n = f["take"].notes
            x = perturb(n.onset_times_s, n.pitches, n.velocities, kind, rng)
            if x is None:
                continue
            t, v, p = x
            kit = None if drum_pitches(f["take"]) is None else p
            tempo_bpm = estimate_pulse(t, velocities=v, drum_pitches=kit).tempo_bpm
            row = {"kind": kind, "bpm": f["bpm"], "cadenza": tempo_bpm,
                   "cadenza_cv": estimate_pulse(t, velocities=v, drum_pitches=kit,
                                                level_weights=tuple(fold_weights[f["drummer"]])).tempo_bpm,
                   "cadenza_flipped": not correct(tempo_bpm, f["cadenza_bpm"])}
            if with_librosa:
                row["librosa"] = librosa_tempo_of(t, v)
                row["librosa_flipped"] = not correct(row["librosa"], f["librosa_bpm"])
            rows.append(row)

    def summary(part: list[dict]) -> dict:
        out = {"n": len(part)}
        if not part:
            return out
        for m in ("cadenza", "cadenza_cv") + (("librosa",) if with_librosa else ()):
            out[f"{m}_exact_pct"] = round(100 * float(np.mean([correct(r[m], r["bpm"]) for r in part])), 1)
        for m in ("cadenza",) + (("librosa",) if with_librosa else ()):
            out[f"{m}_flipped_pct"] = round(100 * float(np.mean([r[f"{m}_flipped"] for r in part])), 1)
        return out

    return {"all": summary(rows), **{k: summary([r for r in rows if r["kind"] == k]) for k in PERTURBATIONS}}


def synthetic_melodies(n: int = 92, *, seed: int = 7, accents: str = "beats") -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(tempo BPM, onset times s, velocities) of 30-s single-line melodies at 70-180 BPM (log-uniform):
    eighths, quarters, dotted quarters (from a beat), halves and sixteenths (0.3, 0.3, 0.15, 0.15, 0.1),
    8 ms of timing jitter. ``accents``: "none" (velocity 80 throughout), "beats" (notes on a beat 90,
    others 60) or "bars" (the first beat of each 4-beat bar 90, others 60)."""
    rng = np.random.default_rng(seed)
    steps, shares = np.array([0.5, 1.0, 1.5, 2.0, 0.25]), np.array([0.3, 0.3, 0.15, 0.15, 0.1])
    out = []
    for _ in range(n):
        bpm = float(np.exp(rng.uniform(np.log(70.0), np.log(180.0))))
        beat_s, pos, times, vel = 60.0 / bpm, 0.0, [], []
        while pos * beat_s < 30.0:
            on_beat = abs(pos - round(pos)) < 1e-9
            loud = on_beat and (accents == "beats" or (accents == "bars" and round(pos) % 4 == 0))
            times.append(pos * beat_s)
            vel.append(80 if accents == "none" else 90 if loud else 60)
            step = rng.choice(steps, p=shares)
            pos += 0.5 if step == 1.5 and not on_beat else step
        t = np.asarray(times) + rng.normal(0.0, 0.008, len(times))
        order = np.argsort(t)
        out.append((bpm, np.clip(t[order], 0.0, None), np.asarray(vel, dtype=float)[order]))
    return out


def melody_check(*, with_librosa: bool = True) -> dict:
    """Exact-level accuracy (%) on :func:`synthetic_melodies` with no accents, accented beats and
    accented bar downbeats; cadenza and librosa."""
    from cadenza.improv.pulse import estimate_pulse

    out = {}
    for accents in ("none", "beats", "bars"):
        mel = synthetic_melodies(accents=accents)
        part = {"n": len(mel), "cadenza_exact": int(sum(correct(estimate_pulse(t, velocities=v).tempo_bpm, bpm)
                                                       for bpm, t, v in mel))}
        if with_librosa:
            part["librosa_exact"] = int(sum(correct(librosa_tempo_of(t, v), bpm) for bpm, t, v in mel))
        out[accents] = part
    return out


def session_speed(files: list[dict]) -> dict:
    """Seconds to read and analyse a 20-minute two-player MIDI file built from the real performances."""
    import mido

    from cadenza.improv import analyze_take
    from cadenza.io import load_midi_take

    def player(order, delay_s, keep_every=1):
        out, offset = [], 0.0
        while offset < SESSION_S:
            for f in order:
                n = f["take"].notes
                keep = (n.onset_times_s + offset < SESSION_S) & (np.arange(n.n_notes) % keep_every == 0)
                out += list(zip(n.onset_times_s[keep] + offset + delay_s, n.pitches[keep], n.velocities[keep]))
                offset += float(n.onset_times_s.max()) + 1.0
                if offset >= SESSION_S:
                    break
        return out

    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    tempo = mido.bpm2tempo(120)
    for name, channel, notes in (("therapist", 9, player(files, 0.0)), ("client", 1, player(files, 0.12, keep_every=2))):
        events = sorted([(t, "on", p, v) for t, p, v in notes] + [(t + 0.08, "off", p, 0) for t, p, v in notes])
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name), mido.MetaMessage("set_tempo", tempo=tempo)])
        last = 0
        for t, kind, p, v in events:
            tick = int(round(mido.second2tick(t, 480, tempo)))
            track.append(mido.Message("note_on" if kind == "on" else "note_off", channel=channel, note=int(p),
                                      velocity=int(v), time=tick - last))
            last = tick
        mid.tracks.append(track)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.mid"
        mid.save(path)
        times, report = [], None
        for _ in range(3):
            t0 = time.perf_counter()
            take, _ = load_midi_take(path)
            report = analyze_take(take)
            times.append(time.perf_counter() - t0)
    return {"duration_s": round(report.duration_s, 1), "n_notes": report.n_notes, "seconds": round(min(times), 3),
            "leader_lag_ms": report.duet.leader_lag_ms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--holdout", type=Path, default=DEFAULT_HOLDOUT_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--skip-robustness", action="store_true",
                        help="leave out the perturbed performances and the synthetic melodies (librosa on ~300 "
                             "perturbed takes: about 15 min on a busy 2-core machine)")
    args = parser.parse_args(argv)
    if not (args.data_dir / "index.csv").is_file():
        print(f"no Groove MIDI index at {args.data_dir}", file=sys.stderr)
        return 2
    dev = score_folder(args.data_dir, verbose=args.verbose)
    fills = score_folder(args.data_dir, kind="fill")
    cv = cross_validate(dev["files"])
    holdout = score_folder(args.holdout) if (args.holdout / "index.csv").is_file() else None
    speed = session_speed(dev["files"])
    robust = None if args.skip_robustness else robustness(dev["files"], cv["fold_weights"])
    melodies = None if args.skip_robustness else melody_check()
    result = {
        "development_beats": {k: v for k, v in dev.items() if k != "files"},
        "cross_validation_beats": {k: v for k, v in cv.items() if k != "fold_weights"},
        "perturbed_beats": robust,
        "synthetic_melodies": melodies,
        "held_out_beats": None if holdout is None else {k: v for k, v in holdout.items() if k != "files"},
        "fills_informative": {k: v for k, v in fills.items() if k != "files"},
        "triplet_feel_beats": triplet_feel(dev["files"]),
        "session_20min": speed,
        "errors": [{k: v for k, v in f.items() if k != "take"} for f in dev["files"]
                   if not correct(f["cadenza_bpm"], f["bpm"])],
    }
    if args.json:
        print(json.dumps(result, indent=2, default=float))
        return 0
    print(f"Tempo within +-{100 * TOLERANCE:g} % of the metronome (Groove MIDI, drummers 1-5)")
    print(f"{'part':34s} {'files':>5s} {'cadenza':>9s} {'librosa':>9s} {'cadenza any level':>18s} {'librosa any level':>18s}")

    def line(name, part):
        c, lb = part["cadenza"], part["librosa"]
        print(f"{name:34s} {part['n_files']:5d} {c['exact_pct']:8.1f}% {lb['exact_pct']:8.1f}% "
              f"{c['any_level_pct']:17.1f}% {lb['any_level_pct']:17.1f}%")

    line("beats, development", result["development_beats"])
    d = result["development_beats"]["cadenza"]
    print(f"  cadenza: flagged ambiguous {d['ambiguous_pct']:.1f} % of files; right at either level offered "
          f"{d['either_level_pct']:.1f} %")
    for m in ("cadenza", "librosa"):
        d = result["development_beats"][m]
        print(f"  {m}: |error| of the exact ones, median {d['median_error_pct_of_exact']} %, "
              f"max {d['max_error_pct_of_exact']} %")
    print(f"{'beats, leave-one-drummer-out CV':34s} {cv['n_files']:5d} {cv['exact_pct']:8.1f}%")
    if robust is not None:
        a = robust["all"]
        print(f"{'beats, perturbed (dev weights)':34s} {a['n']:5d} {a['cadenza_exact_pct']:8.1f}% "
              f"{a['librosa_exact_pct']:8.1f}%   (leave-one-drummer-out weights: {a['cadenza_cv_exact_pct']:.1f} %; "
              f"moved from the file's own estimate: cadenza {a['cadenza_flipped_pct']:.1f} %, "
              f"librosa {a['librosa_flipped_pct']:.1f} %)")
        for kind in PERTURBATIONS:
            k = robust[kind]
            if not k["n"]:
                continue
            print(f"  {kind:32s} {k['n']:5d} {k['cadenza_exact_pct']:8.1f}% {k['librosa_exact_pct']:8.1f}%   "
                  f"cv {k['cadenza_cv_exact_pct']:5.1f}%  moved: cadenza {k['cadenza_flipped_pct']:4.1f}% "
                  f"librosa {k['librosa_flipped_pct']:4.1f}%")
    if holdout is not None:
        line("beats, held out", result["held_out_beats"])
    line("fills (informative)", result["fills_informative"])
    print(f"20-min two-player session: {speed['n_notes']} notes read and analysed in {speed['seconds']} s "
          f"(leader-follower lag found: {speed['leader_lag_ms']} ms, built in: 120 ms)")
    if melodies is not None:
        for accents, m in melodies.items():
            print(f"synthetic melodies, accents {accents:5s}: {m['n']} melodies, read at their beat: cadenza "
                  f"{m['cadenza_exact']}, librosa {m['librosa_exact']}")
    tf = result["triplet_feel_beats"]
    print(f"triplet feel at the chosen level: {len(tf)} files, notated "
          f"{', '.join(sorted({x['time_signature'] for x in tf}))}; right {sum(x['right'] for x in tf)}, right if "
          f"reported as a compound meter's quarter note (x1.5): {sum(x['right_if_x1.5'] for x in tf)}")
    for e in result["errors"]:
        print(f"  miss: {e['file']} {e['bpm']:g} BPM -> {e['cadenza_bpm']} (alternative "
              f"{e['cadenza_alternative_bpm']}, level confidence {e['cadenza_level_confidence']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
