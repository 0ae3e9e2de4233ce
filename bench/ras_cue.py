"""Click-cue benchmark: render time and sample exactness of 30-minute cues.

Usage: ``python bench/ras_cue.py [--json] [--minutes 30] [--repeats 3]``

For constant tempo (104 BPM) and a ramp (96 -> 104 BPM) at 22.05, 44.1 and 48 kHz, renders the whole
cue (beat grid, cue sounds, loudness normalisation, and the built-in verification that re-reads every
onset sample from the audio) and reports the best wall time of ``--repeats`` runs and the maximum
onset error in samples. File writing is not included (it is I/O, not rendering). Both wall time and
CPU time (process time) are shown: on a shared machine the CPU figure is the steadier one.
"""

from __future__ import annotations

import argparse
import json
import time

from cadenza.ras.cue import render_click_cue

CASES = (("constant 104", {"tempo_bpm": 104.0}), ("ramp 96:104", {"ramp_bpm": (96.0, 104.0)}))
RATES_HZ = (22_050, 44_100, 48_000)


def run(minutes: float, repeats: int) -> dict:
    render_click_cue(duration_s=10, tempo_bpm=100)  # imports and first-call costs out of the timing
    rows = []
    for name, tempo in CASES:
        for rate_hz in RATES_HZ:
            best = best_cpu = float("inf")
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                cue = render_click_cue(duration_s=minutes * 60, sampling_rate_hz=rate_hz, accent_every=4, **tempo)
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            rows.append({"case": name, "sampling_rate_hz": rate_hz, "beats": int(cue.beat_times_s.size),
                         "render_s": round(best, 3), "render_cpu_s": round(best_cpu, 3), "max_error_samples": cue.verification.max_error_samples,
                         "loudness_lufs": round(cue.loudness_lufs, 1)})
    return {"minutes": minutes, "repeats": repeats, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = run(args.minutes, args.repeats)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.minutes:g}-minute click cues, best of {args.repeats}")
    print(f"{'case':<14}{'rate Hz':>9}{'beats':>7}{'render s':>10}{'cpu s':>8}{'max err samples':>17}{'LUFS':>7}")
    for r in result["rows"]:
        print(f"{r['case']:<14}{r['sampling_rate_hz']:>9}{r['beats']:>7}{r['render_s']:>10}{r['render_cpu_s']:>8}"
              f"{r['max_error_samples']:>17}{r['loudness_lufs']:>7}")


if __name__ == "__main__":
    main()
