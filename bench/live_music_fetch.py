"""The live walk's song fetch (``music.wav``): rendering on every fetch against the render cache.

Usage: ``python bench/live_music_fetch.py [MUSIC_DIR] [--seconds 180] [--repeats 5] [--json]``

The page fetches the walk's song at the goal tempo. Before the cache, every fetch decoded the file, rendered
the first 60 s at the goal tempo (WSOLA), brought it within the listener's cap and encoded the WAV. Now the
render and the capped WAV are kept by content key under the data directory
(``cadenza.tools.live.actions.capped_song``). Two songs are timed: a synthetic ``--seconds``-long 44.1 kHz
stereo FLAC (a typical library song) and the first excerpt of MUSIC_DIR (``../shared/data/music/``: 30 s,
22.05 kHz mono, annotated beats). Rows: every fetch rendering (the peer: how it was), the first fetch with
the cache (render + store), later fetches (read), and another walk's fetch at the same tempo for a listener
with another cap (render read, only the cap and encoding redone). Medians of ``--repeats`` wall times.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from cadenza.safety.calibration import DEFAULT_CALIBRATION
from cadenza.safety.flags import audio_policy
from cadenza.tools.live.actions import capped_song
from cadenza.tools.live.records import MusicTrack

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "music"


def _synthetic(folder: Path, seconds: float) -> MusicTrack:
    rate, bpm = 44_100, 100.0
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.1 * np.sin(2 * np.pi * 220 * t) + 0.02 * rng.standard_normal(t.size)
    beats = np.arange(0.4, seconds - 0.5, 60 / bpm)
    for b in beats:
        i = int(b * rate)
        x[i:i + 800] += 0.5 * np.exp(-np.arange(800) / 200)
    path = folder / "synthetic.flac"
    sf.write(path, np.stack([x, 0.9 * x]).T.astype(np.float32), rate)
    return MusicTrack(1, f"synthetic {seconds:g} s, 44.1 kHz stereo", str(path), bpm, beats.tolist(), 3)


def _corpus(music_dir: Path) -> MusicTrack | None:
    audio = sorted((music_dir / "audio").glob("*.flac"))
    if not audio:
        return None
    beats_file = music_dir / "annotations" / f"{audio[0].stem}.beats"
    beats = [float(line.split()[0]) for line in beats_file.read_text().splitlines() if line.strip()]
    tempo = 60.0 / float(np.median(np.diff(beats)))
    return MusicTrack(2, f"{audio[0].name} (30 s, 22.05 kHz mono)", str(audio[0]), tempo, beats, 3)


def _time(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure(track: MusicTrack, *, repeats: int) -> dict:
    tempo = track.tempo_bpm * 1.07
    plain, careful = audio_policy([]), audio_policy(["hearing_loss"])
    cache = Path(tempfile.mkdtemp(prefix="live-music-cache-"))
    try:
        capped_song(track, tempo_bpm=tempo, policy=plain, calibration=DEFAULT_CALIBRATION)  # imports, first use
        every = _time(lambda: capped_song(track, tempo_bpm=tempo, policy=plain, calibration=DEFAULT_CALIBRATION),
                      repeats)
        firsts = []
        for _ in range(repeats):
            shutil.rmtree(cache, ignore_errors=True)
            start = time.perf_counter()
            cue = capped_song(track, tempo_bpm=tempo, policy=plain, calibration=DEFAULT_CALIBRATION, cache_dir=cache)
            firsts.append(time.perf_counter() - start)
        again = _time(lambda: capped_song(track, tempo_bpm=tempo, policy=plain, calibration=DEFAULT_CALIBRATION,
                                          cache_dir=cache), repeats)
        other = [_time_other(track, tempo, careful, cache) for _ in range(repeats)]
        return {"song": track.title, "wav_mb": round(len(cue.wav) / 1e6, 2), "every_fetch_renders_s": round(every, 3),
                "first_fetch_cached_s": round(float(np.median(firsts)), 3), "later_fetch_s": round(again, 4),
                "other_cap_same_tempo_s": round(float(np.median(other)), 3)}
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _time_other(track: MusicTrack, tempo: float, policy, cache: Path) -> float:
    """A listener with another cap: the render comes from the cache; their capped WAV is made (then removed, so
    each repeat measures the same thing)."""
    before = set(cache.glob("*.npz"))
    start = time.perf_counter()
    capped_song(track, tempo_bpm=tempo, policy=policy, calibration=DEFAULT_CALIBRATION, cache_dir=cache)
    elapsed = time.perf_counter() - start
    for p in set(cache.glob("*.npz")) - before:
        p.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("music_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="live-music-song-"))
    try:
        tracks = [_synthetic(folder, args.seconds)]
        found = _corpus(args.music_dir)
        if found is not None:
            tracks.append(found)
        rows = [measure(t, repeats=args.repeats) for t in tracks]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| song | WAV MB | every fetch renders (before) s | first fetch, cached s | later fetches s | "
          "another cap, same tempo s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['song']} | {r['wav_mb']} | {r['every_fetch_renders_s']} | {r['first_fetch_cached_s']} | "
              f"{r['later_fetch_s']} | {r['other_cap_same_tempo_s']} |")


if __name__ == "__main__":
    main()
