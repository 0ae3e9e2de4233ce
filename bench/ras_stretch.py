"""Music-mode benchmark: beat-synchronous time-stretching onto a target grid.

Usage: ``python bench/ras_stretch.py [MUSIC_DIR] [--json] [--changes -10,-5,5,10] [--methods wsola,phase_vocoder]``

MUSIC_DIR defaults to ``../shared/data/music/`` and may be any folder laid out the same way:
``audio/<id>.flac`` with ``annotations/<id>.beats`` (``time_s<TAB>beat_in_bar``).

For every excerpt and every tempo change, the annotated beats are the source beats; the excerpt is
stretched so that beat k lands on the k-th beat of a grid at (1 + change) x its median tempo. Beat
deviation is then *measured from the output audio*, two ways:

* **tick** (primary): a 2 ms, 5 kHz tick is mixed onto every annotated beat before stretching, and
  found again in the output with a matched filter. It measures where a percussive beat event lands,
  to a fraction of a millisecond, on every beat. **peak %** is the tick's matched-filter peak after
  stretching relative to before (median): a transient-sharpness proxy (smeared attacks read lower).
* **env**: the music's own onset envelope around each beat is slid against the output's envelope
  (``measure_beat_placement_error_s``). It needs an onset on the beat, so beats on held notes or
  rests are unmeasured (reported), and it is noisier (a few alignments lock onto a neighbouring note).

Real-time factor = compute s / output s: process time of this process for the built-in stretchers;
for ``rubberband`` (the optional external GPL executable, ``--methods wsola,phase_vocoder,rubberband``
when installed) process time does not see the child process, so its row uses wall time.
With ``--redetect`` the output is also beat-tracked (``cadenza.music.beats.track_beats``), as the
product does for its built-in verification.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from cadenza.io.audio import load_audio  # noqa: E402
from cadenza.ras.music_mode import (  # noqa: E402
    add_beat_markers,
    find_marker_error_s,
    measure_beat_placement_error_s,
    verify_with_beat_tracker,
    warp_music_to_tempo,
)

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "music"


def excerpts(data_dir: Path) -> list[tuple[str, Path, Path]]:
    out = []
    for beats in sorted((data_dir / "annotations").glob("*.beats")):
        for ext in (".flac", ".wav", ".ogg", ".mp3"):
            audio = data_dir / "audio" / (beats.stem + ext)
            if audio.exists():
                out.append((beats.stem, audio, beats))
                break
    return out


def _tick_peaks(y: np.ndarray, times_s: np.ndarray, rate_hz: int) -> np.ndarray:
    """Matched-filter peak of the tick within +-10 ms of each time (a transient-sharpness proxy)."""
    from cadenza.ras.music_mode import _marker

    tick = _marker(rate_hz).astype(np.float64)
    half, reach = tick.size // 2, int(0.01 * rate_hz)
    out = np.full(len(times_s), np.nan)
    for k, t in enumerate(times_s):
        c = int(round(t * rate_hz))
        a, b = c - reach - half, c + reach + half + 1
        if a >= 0 and b <= y.size:
            out[k] = np.max(np.abs(np.correlate(y[a:b].astype(np.float64), tick, mode="valid")))
    return out


def _engine(method: str):
    """None for the built-in stretchers (chosen by name), an external backend object otherwise."""
    if method == "rubberband":
        from cadenza.cli.rubberband import RubberBandStretcher

        return RubberBandStretcher()
    return None


def run(data_dir: Path, changes: list[float], methods: list[str], redetect: bool) -> dict:
    rows = {m: {c: {"tick_ms": [], "tick_peak": [], "errors_ms": [], "unmeasured": 0, "n": 0, "compute_s": 0.0, "output_s": 0.0,
                    "per_file_max_ms": [], "redetect_median_ms": [], "redetect_max_ms": []}
                for c in changes} for m in methods}
    items = excerpts(data_dir)
    for _, audio_path, beats_path in items:
        audio = load_audio(audio_path, mono=True)
        beats = np.loadtxt(beats_path, ndmin=2)[:, 0]
        bpm = 60.0 / float(np.median(np.diff(beats)))
        for method in methods:
            for change in changes:
                t0, w0 = time.process_time(), time.perf_counter()
                warped = warp_music_to_tempo(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                                             source_beat_times_s=beats, tempo_bpm=bpm * (1 + change / 100),
                                             method="wsola" if method == "rubberband" else method,
                                             stretcher=_engine(method))
                cell = rows[method][change]
                cell["compute_s"] += (time.perf_counter() - w0) if method == "rubberband" else (time.process_time() - t0)
                cell["output_s"] += warped.samples.shape[-1] / audio.sampling_rate_hz
                err = measure_beat_placement_error_s(
                    warped.source_samples, warped.samples, sampling_rate_hz=audio.sampling_rate_hz,
                    source_beat_times_s=warped.source_beat_times_s, target_beat_times_s=warped.target_beat_times_s)
                ok = np.isfinite(err)
                cell["errors_ms"].extend((1e3 * err[ok]).tolist())
                cell["unmeasured"] += int((~ok).sum())
                cell["n"] += int(err.size)
                marked = add_beat_markers(audio.samples, beats, sampling_rate_hz=audio.sampling_rate_hz)
                warped_marked = warp_music_to_tempo(marked, sampling_rate_hz=audio.sampling_rate_hz,
                                                    source_beat_times_s=beats, tempo_bpm=bpm * (1 + change / 100),
                                                    method="wsola" if method == "rubberband" else method,
                                                    stretcher=_engine(method))
                tick = find_marker_error_s(warped_marked.samples, warped_marked.target_beat_times_s,
                                           sampling_rate_hz=audio.sampling_rate_hz)
                cell["tick_ms"].extend((1e3 * tick[np.isfinite(tick)]).tolist())
                before = _tick_peaks(marked, beats, audio.sampling_rate_hz)
                landed = warped_marked.target_beat_times_s + np.nan_to_num(tick)
                after = _tick_peaks(warped_marked.samples, landed, audio.sampling_rate_hz)
                ratio = after / before[: after.size]
                cell["tick_peak"].extend(ratio[np.isfinite(ratio)].tolist())
                if ok.any():
                    cell["per_file_max_ms"].append(float(np.max(np.abs(err[ok])) * 1e3))
                if redetect:
                    check = verify_with_beat_tracker(warped.samples, sampling_rate_hz=audio.sampling_rate_hz,
                                                     target_beat_times_s=warped.target_beat_times_s)
                    cell["redetect_median_ms"].append(check["median_error_ms"])
                    cell["redetect_max_ms"].append(check["max_error_ms"])
    result = {"data_dir": str(data_dir), "n_excerpts": len(items), "methods": {}}
    for method, by_change in rows.items():
        result["methods"][method] = {}
        for change, cell in by_change.items():
            e = np.abs(np.asarray(cell["errors_ms"]))
            tk = np.abs(np.asarray(cell["tick_ms"]))
            entry = {
                "beats": cell["n"],
                "tick_median_abs_ms": round(float(np.median(tk)), 2) if tk.size else None,
                "tick_p95_abs_ms": round(float(np.percentile(tk, 95)), 1) if tk.size else None,
                "tick_max_abs_ms": round(float(tk.max()), 1) if tk.size else None,
                "tick_peak_percent": round(100 * float(np.median(cell["tick_peak"])), 1) if cell["tick_peak"] else None,
                "env_unmeasured_percent": round(100 * cell["unmeasured"] / max(cell["n"], 1), 1),
                "env_median_abs_ms": round(float(np.median(e)), 2) if e.size else None,
                "env_p95_abs_ms": round(float(np.percentile(e, 95)), 1) if e.size else None,
                "env_max_abs_ms": round(float(e.max()), 1) if e.size else None,
                "env_files_max_over_30ms": int(np.sum(np.asarray(cell["per_file_max_ms"]) > 30)),
                "real_time_factor": round(cell["compute_s"] / max(cell["output_s"], 1e-9), 4),
            }
            if redetect:
                entry["redetect_median_ms"] = round(float(np.nanmedian(cell["redetect_median_ms"])), 1)
                entry["redetect_max_ms"] = round(float(np.nanmax(cell["redetect_max_ms"])), 1)
            result["methods"][method][f"{change:+g}%"] = entry
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--changes", default="-10,-5,5,10", help="tempo changes in percent")
    parser.add_argument("--methods", default="wsola,phase_vocoder")
    parser.add_argument("--redetect", action="store_true", help="also beat-track every output")
    args = parser.parse_args()
    changes = [float(c) for c in args.changes.split(",")]
    result = run(args.data_dir, changes, args.methods.split(","), args.redetect)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['n_excerpts']} excerpts from {result['data_dir']}")
    head = (f"{'method':<14}{'change':>7}{'beats':>6}{'tick med':>9}{'p95':>6}{'max':>6}"
            f"{'peak %':>7}{'env med':>8}{'p95':>6}{'max':>6}{'unmeas%':>8}{'RTF':>8}")
    if args.redetect:
        head += f"{'redet med':>10}{'redet max':>10}"
    print("beat deviation from the target grid, |ms|")
    print(head)
    for method, by_change in result["methods"].items():
        for change, e in by_change.items():
            line = (f"{method:<14}{change:>7}{e['beats']:>6}{e['tick_median_abs_ms']:>9}{e['tick_p95_abs_ms']:>6}"
                    f"{e['tick_max_abs_ms']:>6}{e['tick_peak_percent']:>7}{e['env_median_abs_ms']:>8}{e['env_p95_abs_ms']:>6}"
                    f"{e['env_max_abs_ms']:>6}{e['env_unmeasured_percent']:>8}{e['real_time_factor']:>8}")
            if args.redetect:
                line += f"{e['redetect_median_ms']:>10}{e['redetect_max_ms']:>10}"
            print(line)


if __name__ == "__main__":
    main()
