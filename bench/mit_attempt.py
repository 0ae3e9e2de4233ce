"""Seconds per MIT attempt: Cadenza's banded pYIN against librosa.pyin (the peer), in-process and isolated.

Usage:

    .venv/bin/python bench/mit_attempt.py [--repeats 3] [--json] [--check]

The attempts are excerpts of real singing (vocadito 1 in ../shared/data/singing, 44.1 kHz), 3 s
and 20 s from its second 1, offered as "I want water". Rows:

* pitch contour in-process (warm, CPU seconds): ``librosa.pyin`` with the MIT settings (60-700 Hz, 46 ms frames,
  5.8 ms hop, 0.1 semitone) against ``cadenza.singing.pyin.track_pyin``, and whether the two give
  the same voicing and f0 in every frame;
* the web page's whole analysis of an uploaded WAV in the limited child process
  (``analyse_attempt_bytes_isolated``: fork, decode, contour, onsets, scoring), first call of a
  process (fork-server start included) and warm, wall seconds; "before" runs the same analysis in the same kind
  of child with the contour of the previous release (librosa imported in the child, librosa.pyin,
  librosa's RMS).

``--check`` also compares the two contours over the whole 33-s song in the MIT and the singing
settings (a few minutes: librosa's dense Viterbi). Medians over ``--repeats``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from cadenza.io import isolated
from cadenza.io.isolated import DecodeLimits
from cadenza.io.isolated_analysis import analyse_attempt_bytes_isolated
from cadenza.mit import response
from cadenza.mit.melody import compose_melody
from cadenza.mit.syllables import Lexicon, syllabify_phrase
from cadenza.singing.pyin import track_pyin

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "singing" / "vocadito"
LEXICON = Lexicon({"i": (("AY1",),), "want": (("W", "AA1", "N", "T"),), "water": (("W", "AO1", "T", "ER0"),)})
START_S = 1.0
#: The web app's memory limit; generous time limits so a busy machine measures rather than refuses.
LIMITS = DecodeLimits(cpu_s=600, timeout_s=900.0)

# The previous release's child: librosa imported there, its pYIN and RMS, then the same analysis.
BEFORE_CHILD = """
import io
import numpy as np
import soundfile as sf
import librosa
from cadenza.mit import response as r
y, sr = sf.read(io.BytesIO(DATA), dtype="float64")
hop = max(1, int(round(r.PYIN_HOP_S * sr)))
frame = int(2 ** np.round(np.log2(r.PYIN_FRAME_S * sr)))
f0, voiced, _ = librosa.pyin(y, fmin=r.PYIN_FMIN_HZ, fmax=r.PYIN_FMAX_HZ, sr=sr, frame_length=frame, hop_length=hop)
f0 = r._extend_breathy_onsets(y, np.where(voiced, f0, np.nan), hop=hop, sampling_rate_hz=sr)
rms = librosa.feature.rms(y=y, frame_length=frame // 2, hop_length=hop)[0][: f0.size]
contour = r.PitchContour(np.arange(f0.size) * hop / sr, f0, 20 * np.log10(np.maximum(rms, 1e-10)))
r.analyse_response(y, sampling_rate_hz=sr, melody=MELODY, contour=contour)
"""


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _cpu(fn) -> float:
    """CPU seconds of this process (steadier than wall time on a shared machine)."""
    started = time.process_time()
    fn()
    return time.process_time() - started


def _settings(sampling_rate_hz: float, *, singing: bool = False) -> dict:
    if singing:
        from cadenza.singing import pitch

        frame = max(int(round(pitch.FRAME_S * sampling_rate_hz)), int(np.ceil(2.05 * sampling_rate_hz / pitch.FMIN_HZ)))
        return dict(fmin=pitch.FMIN_HZ, fmax=pitch.FMAX_HZ, frame_length=frame,
                    hop_length=int(round(pitch.HOP_S * sampling_rate_hz)), resolution=pitch.RESOLUTION_SEMITONES)
    return dict(fmin=response.PYIN_FMIN_HZ, fmax=response.PYIN_FMAX_HZ,
                frame_length=int(2 ** np.round(np.log2(response.PYIN_FRAME_S * sampling_rate_hz))),
                hop_length=max(1, int(round(response.PYIN_HOP_S * sampling_rate_hz))), resolution=0.1)


def _both(y: np.ndarray, sampling_rate_hz: float, setting: dict):
    import librosa

    f0, voiced, _ = librosa.pyin(y, fmin=setting["fmin"], fmax=setting["fmax"], sr=sampling_rate_hz,
                                 frame_length=setting["frame_length"], hop_length=setting["hop_length"],
                                 resolution=setting["resolution"])
    track = track_pyin(y, fmin_hz=setting["fmin"], fmax_hz=setting["fmax"], sampling_rate_hz=sampling_rate_hz,
                       frame_length=setting["frame_length"], hop_length=setting["hop_length"],
                       resolution_semitones=setting["resolution"])
    return (f0, voiced), track


def _same(librosa_result, track) -> bool:
    f0, voiced = librosa_result
    return bool(np.array_equal(voiced, track.voiced) and np.array_equal(f0, track.f0_hz, equal_nan=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help="also compare the whole 33-s song (minutes)")
    args = parser.parse_args()
    wavs = sorted((DATA / "Audio").glob("*.wav"))
    if not wavs:
        sys.exit(f"no vocadito audio under {DATA} (see ../shared/data/singing/README.md)")
    song, sr = sf.read(wavs[0], dtype="float64")
    song = song if song.ndim == 1 else song.mean(axis=1)
    melody = compose_melody(syllabify_phrase("I want water", lexicon=LEXICON), level=1)
    import librosa

    librosa.pyin(song[:sr], sr=sr, **_settings(sr))  # numba's compiled Viterbi loaded: librosa warm
    rows: list[dict] = []
    first_call = True
    for duration_s in (3, 20):
        y = song[int(START_S * sr):int((START_S + duration_s) * sr)]
        setting = _settings(sr)
        kwargs = dict(sr=sr, **setting)
        t_peer = statistics.median(_cpu(lambda: librosa.pyin(y, **kwargs)) for _ in range(args.repeats))
        t_new = statistics.median(_cpu(lambda: track_pyin(
            y, fmin_hz=setting["fmin"], fmax_hz=setting["fmax"], sampling_rate_hz=sr,
            frame_length=setting["frame_length"], hop_length=setting["hop_length"])) for _ in range(args.repeats))
        same = _same(*_both(y, sr, setting))
        buffer = io.BytesIO()
        sf.write(buffer, y, sr, format="WAV", subtype="PCM_16")
        data = buffer.getvalue()
        if first_call:  # the fork server starts with the first isolated call of a process
            t_first = _timed(lambda: analyse_attempt_bytes_isolated(data, melody=melody, name="a.wav", limits=LIMITS))
            first_call = False
        else:
            t_first = float("nan")
        t_child = statistics.median(
            _timed(lambda: analyse_attempt_bytes_isolated(data, melody=melody, name="a.wav", limits=LIMITS))
            for _ in range(args.repeats))
        t_child_before = statistics.median(
            _timed(lambda: isolated.run_isolated(exec, BEFORE_CHILD, {"DATA": data, "MELODY": melody},
                                                 limits=LIMITS, what="the previous analysis"))
            for _ in range(args.repeats))
        rows.append({"attempt_s": duration_s, "contour_librosa_cpu_s": t_peer, "contour_cadenza_cpu_s": t_new,
                     "same_voicing_and_f0": same, "isolated_before_s": t_child_before, "isolated_now_s": t_child,
                     "isolated_now_first_call_s": t_first})
    checks = {}
    if args.check:
        for name, singing in (("mit", False), ("singing", True)):
            from cadenza.singing.pitch import ANALYSIS_RATE_HZ, _resample

            y = _resample(song, float(sr)) if singing else song
            rate = ANALYSIS_RATE_HZ if singing else sr
            checks[f"whole song ({len(song) / sr:.0f} s), {name} settings: same voicing and f0"] = _same(
                *_both(y, float(rate), _settings(rate, singing=singing)))
    if args.json:
        print(json.dumps({"rows": [{k: ((None if np.isnan(v) else round(v, 3)) if isinstance(v, float) else v)
                                    for k, v in r.items()}
                                   for r in rows], "checks": checks}))
        return
    print("contour: CPU seconds in-process (warm); isolated: wall seconds of the whole upload analysis")
    print(f"{'attempt':>8} {'librosa.pyin':>13} {'cadenza':>8} {'speed-up':>9} {'same':>5} "
          f"{'isolated before':>16} {'isolated now':>13} {'(first call)':>13}")
    for r in rows:
        first = "" if np.isnan(r["isolated_now_first_call_s"]) else f"{r['isolated_now_first_call_s']:.2f} s"
        print(f"{r['attempt_s']:>6} s {r['contour_librosa_cpu_s']:>11.2f} s {r['contour_cadenza_cpu_s']:>6.2f} s "
              f"{r['contour_librosa_cpu_s'] / r['contour_cadenza_cpu_s']:>8.1f}x {str(r['same_voicing_and_f0']):>5} "
              f"{r['isolated_before_s']:>14.2f} s {r['isolated_now_s']:>11.2f} s {first:>13}")
    for key, value in checks.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
