"""Latency benchmark: Cadenza's loopback calibration side by side with a single-click threshold test, in one run,
and the live path against the offline analysis of the same drumming.

Usage: ``python bench/latency.py [DATA_DIR] [--json]``

1. **Calibration on simulated devices** (no real device recordings with a reference exist in
   ``../shared/data``): the test signal goes through a phone-like speaker and microphone (2nd-order
   band-pass 400 Hz-5 kHz, inverted polarity, a room echo of 30 % after 13 ms, white noise at a given SNR)
   with a known latency of 20, 180, 650, 1000 or 1200 ms (wired to Bluetooth), at 16, 44.1 and 48 kHz,
   five noise draws each. Methods:

   * ``cadenza``: :func:`cadenza.timing.latency.measure_loopback` (six irregularly spaced sweeps, matched
     filter, refused under 10 dB SNR or when the sweeps disagree);
   * ``click-threshold``: what simple web latency tests do: one 1 kHz click, latency = the first sample
     whose magnitude exceeds 5 times the RMS of the first 100 ms of the recording (the noise).

   Reported: median and 95th-percentile |error| (ms) over the accepted calibrations, and how many were
   refused (Cadenza) or found nothing (the threshold). The last condition adds a knock in the room (a
   10-ms burst, three times the signal's peak) before the signal arrives.
2. **Live path = offline path** on the development tabla clips (``DATA_DIR``/four_way_tabla, ``train``):
   each clip is "captured" as the page sends it (16-bit PCM at 48 kHz, starting 0.4 s before the block's
   test signal, which a device hears 650 ms late) and analysed by
   :func:`cadenza.tools.timing.actions.analyse_live_block`; its hits, moved back by the latency the block
   found, are compared with the hits of ``cadenza timing analyze`` on the clip itself. (The browser test
   ``tests/tools/timing/test_live_browser.py`` does the same through Chromium on one clip.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import signal as sp_signal
from scipy.signal import resample_poly

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "timing"
LATENCIES_MS = (20.0, 180.0, 650.0, 1000.0, 1200.0)
RATES_HZ = (16_000, 44_100, 48_000)
# (SNR dB, a knock in the room): the knock is a 10-ms noise burst three times the signal's peak, somewhere
# between the start of the recording and the moment the signal arrives (someone taps the table or coughs).
CONDITIONS = ((40.0, False), (20.0, False), (12.0, False), (5.0, False), (20.0, True))
DRAWS = 5


def phone(x: np.ndarray, rate: int, latency_s: float, snr_db: float, rng: np.random.Generator,
          active: np.ndarray) -> np.ndarray:
    """``x`` through a small speaker and microphone, ``latency_s`` late, with noise at ``snr_db`` below the
    power of the signal where ``active`` (the sweeps or the click)."""
    n = x.size + int((latency_s + 0.5) * rate)
    padded = np.zeros(n)
    padded[:x.size] = x
    spectrum = np.fft.rfft(padded) * np.exp(-2j * np.pi * np.fft.rfftfreq(n, 1 / rate) * latency_s)
    y = np.fft.irfft(spectrum, n)
    b, a = sp_signal.butter(2, [400, min(5000, 0.45 * rate)], "band", fs=rate)
    y = -0.2 * sp_signal.lfilter(b, a, y)
    echo = int(0.013 * rate)
    y[echo:] += 0.3 * y[:-echo]
    shift = int(round(latency_s * rate))
    on = np.zeros(n, dtype=bool)
    on[shift:shift + active.size] = active
    power = float(np.mean(y[on] ** 2))
    return y + rng.normal(size=n) * np.sqrt(power / 10 ** (snr_db / 10))


def add_knock(recording: np.ndarray, rate: int, arrival_s: float, rng: np.random.Generator) -> None:
    """A 10-ms noise burst, three times the recording's peak, between 0.12 s and ``arrival_s``."""
    at = int(rng.uniform(0.12, max(0.13, arrival_s - 0.02)) * rate)
    n = int(0.01 * rate)
    recording[at:at + n] += 3 * np.abs(recording).max() * rng.uniform(-1, 1, size=n) * np.exp(-np.arange(n) / (0.003 * rate))


def click(rate: int) -> tuple[np.ndarray, float]:
    t = np.arange(int(0.03 * rate)) / rate
    c = 0.5 * np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.006)
    x = np.concatenate([np.zeros(int(0.3 * rate)), c, np.zeros(int(0.3 * rate))])
    return x, 0.3


def run_cadenza(recording: np.ndarray, rate: int) -> float | None:
    from cadenza.errors import ParameterError
    from cadenza.timing.latency import measure_loopback

    try:
        return measure_loopback(recording, sampling_rate_hz=rate).latency_ms
    except ParameterError:
        return None


def run_threshold(recording: np.ndarray, rate: int, click_at_s: float) -> float | None:
    noise = float(np.sqrt(np.mean(recording[:int(0.1 * rate)] ** 2)))
    above = np.flatnonzero(np.abs(recording[int(click_at_s * rate):]) > 5 * max(noise, 1e-9))
    return None if above.size == 0 else above[0] / rate * 1000.0


def evaluate_calibration() -> dict:
    from cadenza.timing.latency import make_loopback_signal

    out: dict = {}
    for snr_db, knock in CONDITIONS:
        errors = {"cadenza": [], "click-threshold": []}
        missing = {"cadenza": 0, "click-threshold": 0}
        n = 0
        for k, rate in enumerate(RATES_HZ):
            signal, _, _ = make_loopback_signal(sampling_rate_hz=rate)
            c, c_at = click(rate)
            for j, latency_ms in enumerate(LATENCIES_MS):
                for d in range(DRAWS):
                    rng = np.random.default_rng(1000 * k + 10 * j + d)
                    n += 1
                    rec = phone(signal, rate, latency_ms / 1000, snr_db, rng, np.abs(signal) > 0)
                    if knock:
                        add_knock(rec, rate, latency_ms / 1000 + 0.3, rng)  # the signal's first sweep starts at 0.3 s
                    found = run_cadenza(rec, rate)
                    if found is None:
                        missing["cadenza"] += 1
                    else:
                        errors["cadenza"].append(found - latency_ms)
                    rec = phone(c, rate, latency_ms / 1000, snr_db, rng, np.abs(c) > 1e-3)
                    if knock:
                        add_knock(rec, rate, latency_ms / 1000 + c_at, rng)
                    found = run_threshold(rec, rate, c_at)
                    if found is None:
                        missing["click-threshold"] += 1
                    else:
                        errors["click-threshold"].append(found - latency_ms)
        out[f"{snr_db:g}" + (" + knock" if knock else "")] = {name: {"n": n, "not_found_or_refused": missing[name],
                                     "median_abs_error_ms": float(np.median(np.abs(e))) if e else None,
                                     "p95_abs_error_ms": float(np.percentile(np.abs(e), 95)) if e else None}
                              for name, e in errors.items()}
    return out


def evaluate_live(data_dir: Path) -> dict:
    from cadenza.io.audio import load_audio
    from cadenza.timing.latency import make_loopback_signal
    from cadenza.timing.onsets import detect_onsets
    from cadenza.tools.timing import actions

    rate, latency_s, lead_s = 48_000, 0.65, 0.4
    root = data_dir / "four_way_tabla" / "4way-tabla-ismir21-dataset" / "train" / "audios"
    clips = {}
    signal, _, _ = make_loopback_signal(sampling_rate_hz=rate)
    for path in sorted(root.glob("*.wav")):
        audio = load_audio(path, mono=True)
        offline = detect_onsets(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
        clip = resample_poly(audio.samples, rate // 1000, int(audio.sampling_rate_hz) // 1000)
        clip = 0.8 * clip / np.abs(clip).max()
        # The capture: lead, the test signal heard latency_s after it was played, then the drumming.
        heard = int((lead_s + latency_s) * rate)
        capture = np.zeros(heard + signal.size + int(0.5 * rate) + clip.size)
        capture[heard:heard + signal.size] += 0.3 * signal
        start = heard + signal.size + int(0.5 * rate)
        capture[start:start + clip.size] += clip
        pcm = (np.clip(capture, -1, 1) * 32767).astype("<i2").tobytes()
        capture_start_s, marker_at_s = 100.0, 100.0 + lead_s
        cue = list(100.0 + start / rate - latency_s + 0.6 * np.arange(int(clip.size / rate / 0.6)))
        block = actions.analyse_live_block(
            cue_times_s=cue, capture=actions.parse_capture(pcm, sampling_rate_hz=rate, start_s=capture_start_s),
            marker_at_s=marker_at_s)
        live = block.hit_clock_times_s - capture_start_s - start / rate  # back to the clip's own time line
        nearest = np.array([live[np.argmin(np.abs(live - t))] - t for t in offline]) if live.size else np.empty(0)
        matched = np.abs(nearest) <= 0.025
        clips[path.stem] = {"offline_hits": int(offline.size), "live_hits": int(live.size),
                            "matched": int(matched.sum()),
                            "median_abs_error_ms": float(np.median(np.abs(nearest[matched]))) * 1000,
                            "block_latency_ms": round(block.latency_ms, 3)}
    return clips


def print_tables(summary: dict) -> None:
    print("Loopback calibration on simulated devices (latency 20-1200 ms, 16/44.1/48 kHz, 5 draws: 75 per SNR)")
    print(f"{'SNR dB':>12} {'method':<16} {'refused/none':>12} {'med|err| ms':>11} {'p95|err| ms':>11}")
    for snr, methods in summary["calibration"].items():
        for name, r in methods.items():
            med = "-" if r["median_abs_error_ms"] is None else f"{r['median_abs_error_ms']:.3f}"
            p95 = "-" if r["p95_abs_error_ms"] is None else f"{r['p95_abs_error_ms']:.3f}"
            print(f"{snr:>12} {name:<16} {r['not_found_or_refused']:>5} of {r['n']:<4} {med:>11} {p95:>11}")
    print()
    print("Live path vs offline analysis of the same clip (development tabla; 16-bit PCM at 48 kHz, 650 ms latency)")
    print(f"{'clip':<22} {'offline':>7} {'live':>5} {'matched':>7} {'med|err| ms':>11} {'latency ms':>10}")
    for name, r in summary["live"].items():
        print(f"{name:<22} {r['offline_hits']:>7} {r['live_hits']:>5} {r['matched']:>7} {r['median_abs_error_ms']:>11.3f} "
              f"{r['block_latency_ms']:>10.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"no data folder {args.data_dir}", file=sys.stderr)
        return 2
    summary = {"calibration": evaluate_calibration(), "live": evaluate_live(args.data_dir)}
    if args.json:
        print(json.dumps(summary))
    else:
        print_tables(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
