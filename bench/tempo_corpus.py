"""Build a larger tempo/beat development corpus (issue 22) following the recipe of ``../shared/data/music``:
public-domain scores from music21's corpus, a tempo map per excerpt, every note mapped through it, rendered
with FluidSynth and a General MIDI soundfont, cut to a window and optionally degraded. The beat annotation
passes the score's quarter-note beats through the same map, so audio and beats cannot drift apart.

Weighted towards the music therapy lives on: slow pieces (half the excerpts below 80 BPM), hymns (Bach
chorales), lullaby-like settings (Essen children's songs and ballads over a soft broken-chord accompaniment
on harp, celesta or music box: exactly the eighth-note level that makes slow music ambiguous), slow airs,
and rubato tempo maps (slow drift, per-beat jitter, phrase-final ritardando).

``--mix wide`` (issue 22, fifth round) builds a broader set on the recipe of the shared corpus itself, still
tilted slow: Bach chorales, Essen folk songs from eleven collections, fiddle tunes from Ryan's Mammoth
Collection and string-quartet and piano movements (Mozart, Haydn, Beethoven, Clara Schumann), over 45-165 BPM
with steady, sine, ramp, rubato and ritardando tempo maps, arranged for piano, guitar, harp, strings, organ,
winds, fiddle, e-piano or a band (drum kit and bass under steel guitar or piano). ``--mix therapy`` (default)
is the set above, unchanged for a given seed.

Usage::

    .venv/bin/python bench/tempo_corpus.py OUT_DIR [--n 120] [--seconds 30] [--seed 22] [--mix therapy|wide]
    .venv/bin/python bench/tempo_corpus.py OUT_DIR --merge OTHER_DIR   # OTHER_DIR's excerpts into OUT_DIR

(``--merge`` copies another build's files and rows, ids unchanged, and re-assigns the folds of the whole.)

Writes OUT_DIR/audio/*.flac, OUT_DIR/annotations/*.beats (one beat time in seconds per line) and
OUT_DIR/manifest.csv with the columns ``bench/tempo.py`` reads (plus ``family``, ``fold`` for the
cross-validation split, grouped by source piece). Needs music21 (the ``bench`` extra), and Debian's
``fluidsynth`` and ``fluid-soundfont-gm``. Never write the corpus into the repository.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SR = 22050
TICKS_PER_QUARTER = 960  # at 500 000 us per quarter: 0.52 ms per tick
N_FOLDS = 5

# (family, share, corpus paths, arrangements) -- arrangement: (melody program, accompaniment program or None)
ARRANGEMENTS = {
    "hymn": [(19, None), (52, None), (48, None), (0, None), (46, None)],  # organ, choir, strings, piano, harp
    "lullaby": [(46, 46), (8, 46), (10, 46), (0, 0), (73, 46), (24, 24)],  # harp, celesta, music box, piano, flute, guitar
    "ballad": [(0, 0), (24, 24), (73, 0), (40, 48), (4, 4)],  # piano, guitar, flute over piano, violin over strings, e-piano
    "air": [(73, 46), (40, 48), (71, 0), (0, 0)],
}
TEMPO_CLASSES = ((40.0, 80.0, 0.5), (80.0, 120.0, 0.3), (120.0, 160.0, 0.2))
#: ``--mix wide``: the families of the shared corpus (and its band arrangements), more of them slow.
WIDE_FAMILIES = (("chorale", 0.4), ("folk", 0.3), ("fiddle", 0.12), ("classical", 0.18))
WIDE_ARRANGEMENTS = {  # (melody program, accompaniment program or None, band)
    "chorale": [(0, None, False), (24, None, False), (46, None, False), (48, None, False), (19, None, False),
                (73, None, False), (4, None, False), (25, None, True), (0, None, True)],
    "folk": [(0, 0, False), (24, 24, False), (4, 4, False), (40, 48, False), (73, 46, False), (25, None, True),
             (0, None, True), (46, 46, False)],
    "fiddle": [(40, None, False), (25, None, True), (0, None, True), (24, None, False), (73, None, False)],
    "classical": [(0, None, False), (24, None, False), (48, None, False), (46, None, False), (40, None, False),
                  (25, None, True), (0, None, True)],
}
WIDE_TEMPO_CLASSES = ((45.0, 80.0, 0.45), (80.0, 120.0, 0.3), (120.0, 165.0, 0.25))
WIDE_CURVES = (("steady", 0.4), ("rubato", 0.2), ("ritardando", 0.1), ("sine", 0.15), ("ramp", 0.15))
DRUMS = 128  # pseudo-program: General MIDI percussion on channel 10
CURVES = (("steady", 0.35), ("rubato", 0.3), ("ritardando", 0.15), ("sine", 0.2))
DEGRADATIONS = (("clean", 0.55), ("reverb", 0.2), ("noise", 0.1), ("reverb+noise", 0.15))


def _pick(rng: np.random.Generator, weighted):
    names, weights = zip(*weighted)
    return names[rng.choice(len(names), p=np.asarray(weights) / sum(weights))]


def candidate_scores(rng: np.random.Generator) -> dict[str, list]:
    """Score sources per family: (label, loader) pairs, loaded lazily (music21 is slow to parse)."""
    from music21 import corpus

    root = Path(corpus.__file__).parent
    chorales = sorted(str(p) for p in corpus.getComposer("bach") if "bwv" in str(p))
    essen = root / "essenFolksong"
    # A few collections only: each holds 100-200 songs, and parsing one takes tens of seconds.
    kinder = [str(essen / "kinder0.abc")]
    ballads = [str(essen / "ballad10.abc"), str(essen / "ballad20.abc")]
    airs = [str(root / "airdsAirs" / "book1.abc")]
    return {"hymn": [(p, None) for p in chorales], "lullaby": [(p, "opus") for p in kinder + ballads[:1]],
            "ballad": [(p, "opus") for p in ballads], "air": [(p, "opus") for p in airs]}


def wide_scores(rng: np.random.Generator) -> dict[str, list]:
    """``--mix wide`` score sources per family (label, loader), loaded lazily."""
    from music21 import corpus

    root = Path(corpus.__file__).parent
    chorales = sorted(str(p) for p in corpus.getComposer("bach") if "bwv" in str(p))
    essen = root / "essenFolksong"
    folk = [str(essen / f"{name}.abc") for name in ("altdeu10", "altdeu20", "ballad30", "ballad40", "ballad50",
                                                      "boehme10", "boehme20", "dva0", "erk10", "erk20", "han1",
                                                      "han2", "zuccal0", "fink0", "lot", "lux", "irl")]
    fiddle = sorted(str(p) for p in (root / "ryansMammoth").glob("*.abc")
                    if any(k in p.name for k in ("Hornpipe", "Reel", "Clog", "Fling")))
    fiddle = [fiddle[i] for i in sorted(rng.choice(len(fiddle), size=min(60, len(fiddle)), replace=False))]
    classical = [str(p) for p in sorted((root / "mozart").rglob("*.mxl")) + sorted((root / "haydn").rglob("*.mxl"))
                 + sorted((root / "beethoven" / "opus18no1").rglob("*.mxl"))
                 + sorted((root / "schumann_clara").glob("polonaise_op1n*.mxl"))]
    return {"chorale": [(p, None) for p in chorales], "folk": [(p, "song") for p in folk],
            "fiddle": [(p, "tune") for p in fiddle], "classical": [(p, None) for p in classical]}


_PARSED: dict[str, object] = {}


def load_score(path: str, kind: str | None, rng: np.random.Generator):
    from music21 import converter

    if kind == "song":  # one song of an ABC collection, parsed alone (a whole collection takes a minute)
        numbers = [int(line[2:].split()[0]) for line in Path(path).read_text(errors="replace").splitlines()
                   if line.startswith("X:") and line[2:].split() and line[2:].split()[0].isdigit()]
        number = numbers[int(rng.integers(len(numbers)))]
        return converter.parse(path, number=number), f"{Path(path).name}#{number}"
    if path not in _PARSED:  # an Essen or Aird collection takes tens of seconds to parse: once per run
        _PARSED[path] = converter.parse(path)
    parsed = _PARSED[path]
    if kind == "tune":  # one Ryan's Mammoth tune per file (parsed as a one-score opus or a score)
        scores = list(getattr(parsed, "scores", [])) or [parsed]
        return scores[0], Path(path).name
    if kind == "opus":
        scores = list(parsed.scores)
        return scores[int(rng.integers(len(scores)))], f"{Path(path).name}#{len(scores)}"
    return parsed, Path(path).name


def score_notes(score) -> tuple[list[tuple[float, float, int, int]], int, float] | None:
    """(onset_q, duration_q, midi pitch, part index) of every note, beats per bar and total length in
    quarters; None unless the score has one 2/4, 3/4 or 4/4 time signature."""
    from music21 import meter

    signatures = {ts.ratioString for ts in score.recurse().getElementsByClass(meter.TimeSignature)}
    if len(signatures) != 1 or next(iter(signatures)) not in ("2/4", "3/4", "4/4"):
        return None
    beats_per_bar = int(next(iter(signatures))[0])
    notes = []
    parts = list(score.parts) or [score]
    for k, part in enumerate(parts[:4]):
        for n in part.flatten().notes:
            for p in getattr(n, "pitches", ()):
                if n.duration.quarterLength > 0:
                    notes.append((float(n.offset), float(n.duration.quarterLength), int(p.midi), k))
    if len(notes) < 16:
        return None
    on_beat = np.mean([o % 1 == 0 for o, _, _, k in notes if k == 0] or [0.0])
    if on_beat < 0.5:  # a pickup that shifts the grid off the quarter-note beats
        return None
    length_q = max(o + d for o, d, _, _ in notes)
    return notes, beats_per_bar, float(length_q)


def accompaniment(notes, length_q: float) -> list[tuple[float, float, int, int]]:
    """A soft broken-chord accompaniment in eighth notes under the melody (root, fifth, octave), the root
    taken from the melody note sounding on each beat, two octaves down."""
    melody = sorted((o, p) for o, _, p, k in notes if k == 0)
    out = []
    for beat in range(int(length_q)):
        sounding = [p for o, p in melody if o <= beat] or [melody[0][1]]
        root = sounding[-1] - 24
        while root < 40:
            root += 12
        for half, interval in ((0.0, 0), (0.5, 7)):
            out.append((beat + half, 0.5, root + interval, 9))  # part 9: accompaniment
    return out


def band(notes, length_q: float, beats_per_bar: int) -> list[tuple[float, float, int, int]]:
    """Drum kit and bass under the melody: kick on the downbeat (and beat 3 of 4/4), snare on the other beats of
    2/4 and 4/4 (beats 2-3 of 3/4), closed hi-hat on every eighth; a bass note on each beat, the root taken from
    the melody as in :func:`accompaniment`. Drums are part 10, bass part 11."""
    melody = sorted((o, p) for o, _, p, k in notes if k == 0)
    out = []
    for beat in range(int(length_q)):
        pos = beat % beats_per_bar
        drum = 36 if pos == 0 or (beats_per_bar == 4 and pos == 2) else 38
        out.append((float(beat), 0.25, drum, 10))
        out += [(beat + half, 0.25, 42, 10) for half in (0.0, 0.5)]
        sounding = [p for o, p in melody if o <= beat] or [melody[0][1]]
        root = sounding[-1] - 24
        while root < 36:
            root += 12
        out.append((float(beat), 0.9, root, 11))
    return out


def tempo_map(rng: np.random.Generator, n_beats: int, bpm: float, curve: str) -> np.ndarray:
    """Beat times (s) of beats 0..n_beats: one inter-beat interval per beat."""
    ibi = np.full(n_beats, 60.0 / bpm)
    b = np.arange(n_beats)
    if curve == "sine":
        depth, period = rng.uniform(0.04, 0.08), rng.uniform(12, 24)
        ibi /= 1 + depth * np.sin(2 * np.pi * b / period + rng.uniform(0, 2 * np.pi))
    elif curve == "ritardando":
        # Phrase-final ritardando every 8 bars-ish, plus a slow overall drift.
        phrase = int(rng.choice([8, 12, 16]))
        pos = b % phrase
        ibi *= 1 + rng.uniform(0.15, 0.3) * np.clip((pos - (phrase - 4)) / 4, 0, 1) ** 2
        ibi *= np.linspace(1, 1 + rng.uniform(-0.06, 0.06), n_beats)
    elif curve == "ramp":  # accelerando or ritardando of 4-8 % over the piece
        ibi *= np.linspace(1.0, 1.0 + rng.choice([-1.0, 1.0]) * rng.uniform(0.04, 0.08), n_beats)
    elif curve == "rubato":
        walk = np.cumsum(rng.normal(0, 0.01, n_beats))
        walk -= np.linspace(walk[0], walk[-1], n_beats) * 0.5
        ibi *= np.exp(np.clip(walk, -0.12, 0.12)) * (1 + rng.normal(0, rng.uniform(0.02, 0.04), n_beats))
    return np.concatenate([[0.0], np.cumsum(ibi)])


def write_midi(path: Path, events: list[tuple[float, float, int, int, int]]) -> None:
    """A format-0 MIDI file from (start_s, end_s, pitch, velocity, program) at 120 BPM (960 ticks / 0.5 s)."""
    def var(value: int) -> bytes:
        out = [value & 0x7F]
        value >>= 7
        while value:
            out.insert(0, (value & 0x7F) | 0x80)
            value >>= 7
        return bytes(out)

    programs = sorted({e[4] for e in events} - {DRUMS})
    channel_of = {p: (i if i < 9 else i + 1) for i, p in enumerate(programs)}
    channel_of[DRUMS] = 9  # General MIDI percussion: no program change
    msgs = [(0, bytes([0xC0 | channel_of[p], p])) for p in programs]
    for start, end, pitch, vel, prog in events:
        ch = channel_of[prog]
        msgs.append((int(round(start * 2 * TICKS_PER_QUARTER)), bytes([0x90 | ch, pitch, vel])))
        msgs.append((int(round(end * 2 * TICKS_PER_QUARTER)), bytes([0x80 | ch, pitch, 0])))
    msgs.sort(key=lambda m: (m[0], m[1][0] & 0xF0 == 0x90))  # note-offs before note-ons at a tick
    track, now = bytearray(), 0
    for tick, data in msgs:
        track += var(tick - now) + data
        now = tick
    track += b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") \
        + TICKS_PER_QUARTER.to_bytes(2, "big")
    path.write_bytes(header + b"MTrk" + len(track).to_bytes(4, "big") + bytes(track))


def render(midi: Path, wav: Path) -> None:
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(SR), "-R", "0", "-C", "0",
                    "-F", str(wav), str(SOUNDFONT), str(midi)], check=True, capture_output=True, timeout=300)


def degrade(x: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    params = []
    if "reverb" in kind:
        rt60 = rng.uniform(1.0, 2.2)
        t = np.arange(int(rt60 * SR)) / SR
        ir = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)
        ir[0] = 1.0
        from scipy.signal import fftconvolve

        x = fftconvolve(x, ir * 0.25)[: x.size]
        params.append(f"rt60={rt60:.2f}")
    if "noise" in kind:
        snr = rng.uniform(8, 18)
        white = rng.standard_normal(x.size)
        spec = np.fft.rfft(white) / np.sqrt(np.maximum(np.arange(x.size // 2 + 1), 1))
        pink = np.fft.irfft(spec, x.size)
        pink *= np.sqrt(np.mean(x**2) / np.mean(pink**2)) / 10 ** (snr / 20)
        x = x + pink
        params.append(f"snr={snr:.1f}")
    return x, ";".join(params)


def make_excerpt(i: int, out: Path, rng: np.random.Generator, sources: dict, seconds: float, tmp: Path,
                 mix: str = "therapy", prefix: str = "tc") -> dict | None:
    import soundfile as sf

    wide = mix == "wide"
    family = _pick(rng, WIDE_FAMILIES if wide else (("hymn", 0.3), ("lullaby", 0.3), ("ballad", 0.25), ("air", 0.15)))
    path, kind = sources[family][int(rng.integers(len(sources[family])))]
    try:
        score, label = load_score(path, kind, rng)
    except Exception:  # noqa: BLE001 - a score music21 cannot read is skipped
        return None
    parsed = score_notes(score)
    if parsed is None:
        return None
    notes, beats_per_bar, length_q = parsed
    classes = WIDE_TEMPO_CLASSES if wide else TEMPO_CLASSES
    lo, hi, _ = classes[rng.choice(3, p=[c[2] for c in classes])]
    if family == "lullaby":
        lo, hi = 44.0, 84.0
    bpm = float(rng.uniform(lo, hi))
    curve = _pick(rng, WIDE_CURVES if wide else CURVES)
    if wide:
        melody_prog, accomp_prog, with_band = WIDE_ARRANGEMENTS[family][int(rng.integers(len(WIDE_ARRANGEMENTS[family])))]
    else:
        (melody_prog, accomp_prog), with_band = ARRANGEMENTS[family][int(rng.integers(len(ARRANGEMENTS[family])))], False
    if accomp_prog is not None:
        notes = [n for n in notes if n[3] == 0] + accompaniment(notes, length_q)
    if with_band:
        notes = notes + band(notes, length_q, beats_per_bar)
    # Loop short pieces (whole beats) so the window fits.
    copies = int(np.clip(np.ceil((seconds + 6) * bpm / 60 / length_q), 1, 6))
    period_q = float(np.ceil(length_q))
    looped = [(o + c * period_q, d, p, k) for c in range(copies) for o, d, p, k in notes]
    n_beats = int(period_q * copies) + 1
    times = tempo_map(rng, n_beats + 2, bpm, curve)
    to_s = lambda q: float(np.interp(q, np.arange(times.size), times))  # noqa: E731
    jitter_s = float(rng.choice([0.0, 0.008, 0.015]))
    events = []
    for o, d, p, k in looped:
        start = to_s(o) + (rng.normal(0, jitter_s) if jitter_s else 0.0)
        vel = 78 if k == 0 else (44 if k == 9 else 62)
        if k == 9 and o % 1 != 0:
            vel = 36  # off-beat accompaniment notes softer
        if k == 10:  # drums: half the timing jitter, hi-hat softer
            start = to_s(o) + (rng.normal(0, jitter_s / 2) if jitter_s else 0.0)
            vel = 50 if p == 42 else 80
        prog = {9: accomp_prog, 10: DRUMS, 11: 33}.get(k, melody_prog)
        events.append((max(0.0, start), to_s(o + d) - 0.01, p, vel, prog))
    midi, wav = tmp / f"x{i}.mid", tmp / f"x{i}.wav"
    write_midi(midi, events)
    render(midi, wav)
    audio, sr = sf.read(str(wav), always_2d=True)
    x = audio.mean(axis=1)
    total_s = x.size / sr
    if total_s < seconds + 2:
        return None
    start_s = float(rng.uniform(1.0, total_s - seconds - 0.5))
    x = x[int(start_s * sr): int(start_s * sr) + int(seconds * sr)]
    beat_s = times[:n_beats] - start_s
    beat_s = beat_s[(beat_s >= 0) & (beat_s < seconds)]
    degradation = _pick(rng, DEGRADATIONS)
    x, params = degrade(x, degradation, rng)
    x = 0.89 * x / max(float(np.max(np.abs(x))), 1e-9)
    ident = f"{prefix}{i:03d}"
    sf.write(str(out / "audio" / f"{ident}.flac"), x.astype(np.float32), sr, subtype="PCM_16")
    np.savetxt(out / "annotations" / f"{ident}.beats", beat_s, fmt="%.4f")
    ibis = np.diff(beat_s)
    return {"id": ident, "audio": f"audio/{ident}.flac", "beats": f"annotations/{ident}.beats",
            "source": _source(path, label, wide), "family": family, "meter": f"{beats_per_bar}/4",
            "bpm": round(60.0 / float(np.median(ibis)), 3), "bpm_nominal": round(bpm, 3), "tempo_curve": curve,
            "arrangement": f"{melody_prog}/{accomp_prog}" + ("/band" if with_band else ""), "degradation": degradation,
            "degradation_params": params, "humanize_ms": jitter_s * 1000, "copies": copies,
            "duration_s": seconds, "n_beats": int(beat_s.size), "fold": "",
            "license": "composition: public domain; encoding: music21 corpus; render: FluidR3_GM (MIT)"}


def _source(path: str, label: str, wide: bool) -> str:
    """The score's path in music21's corpus with ``label`` as its file name (``--mix wide``: the whole path, as
    the shared corpus writes it, e.g. ``mozart/k80/movement3.mxl``; else the folder and the label)."""
    parts = Path(path).parts
    if wide and "corpus" in parts:
        inner = parts[len(parts) - 1 - parts[::-1].index("corpus") + 1:-1]
        return "/".join([*inner, label])
    return f"{Path(path).parent.name}/{label}"


def assign_folds(rows: list[dict]) -> None:
    """Cross-validation folds grouped by source file (no chorale, and no Essen or Aird collection, in two
    folds: stricter than grouping by song), balanced by count."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["source"].split("#")[0], []).append(r)
    sizes = [0] * N_FOLDS
    for _, members in sorted(groups.items(), key=lambda g: -len(g[1])):
        fold = int(np.argmin(sizes))
        sizes[fold] += len(members)
        for r in members:
            r["fold"] = fold


def merge(out_dir: Path, other: Path) -> int:
    """Copy the excerpts of ``other`` (another build, other ids) into ``out_dir``: files, manifest rows, folds
    re-assigned over the whole."""
    rows = []
    for d in (out_dir, other):
        with open(d / "manifest.csv", newline="") as fh:
            rows.append(list(csv.DictReader(fh)))
    ids = {r["id"] for r in rows[0]}
    clash = sorted(ids & {r["id"] for r in rows[1]})
    if clash:
        print(f"--merge: ids in both corpora (build one with another --prefix): {clash[:5]}", file=sys.stderr)
        return 2
    for r in rows[1]:
        for key in ("audio", "beats"):
            shutil.copy2(other / r[key], out_dir / r[key])
    merged = rows[0] + rows[1]
    assign_folds(merged)
    with open(out_dir / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(merged[0]))
        writer.writeheader()
        writer.writerows(merged)
    print(f"{len(merged)} excerpts in {out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--mix", choices=("therapy", "wide"), default="therapy",
                        help="therapy: hymns, lullabies, ballads, airs (default); wide: the shared corpus's families")
    parser.add_argument("--prefix", default="tc", help="excerpt id prefix (default tc)")
    parser.add_argument("--merge", type=Path, metavar="OTHER_DIR", help="copy another build into OUT_DIR and stop")
    args = parser.parse_args(argv)
    if args.merge is not None:
        return merge(args.out_dir, args.merge)
    if shutil.which("fluidsynth") is None or not SOUNDFONT.is_file():
        print("needs Debian's fluidsynth and fluid-soundfont-gm (apt-get install fluidsynth fluid-soundfont-gm)",
              file=sys.stderr)
        return 2
    repo = Path(__file__).resolve().parents[1]
    if args.out_dir.resolve().is_relative_to(repo):
        print(f"out_dir must be outside the repository ({repo}), got {args.out_dir}", file=sys.stderr)
        return 2
    (args.out_dir / "audio").mkdir(parents=True, exist_ok=True)
    (args.out_dir / "annotations").mkdir(exist_ok=True)
    rng = np.random.default_rng(args.seed)
    sources = wide_scores(rng) if args.mix == "wide" else candidate_scores(rng)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        attempts = 0
        while len(rows) < args.n and attempts < 10 * args.n:
            attempts += 1
            row = make_excerpt(len(rows) + 1, args.out_dir, rng, sources, args.seconds, Path(tmp), args.mix,
                               args.prefix)
            if row is not None:
                rows.append(row)
                print(f"{row['id']} {row['family']:<8} {row['bpm']:6.1f} BPM {row['tempo_curve']:<10} "
                      f"{row['degradation']:<12} {row['source']}", flush=True)
    assign_folds(rows)
    with open(args.out_dir / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} excerpts in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
