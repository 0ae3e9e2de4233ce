"""Cost of decoding uploads in an isolated child process (cadenza.io.isolated) against in-process.

Usage:

    .venv/bin/python bench/isolated_decode.py [--repeats 5] [--json]

Measures: starting the fork server (first call of a process), an isolated round trip that does
nothing, refusing a hostile header, and decoding a generated 3-minute 44.1 kHz stereo file
(PCM-16 WAV and FLAC) in-process with ``load_audio`` and isolated. Medians over ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from cadenza.errors import DataQualityError
from cadenza.io import isolated
from cadenza.io.audio import load_audio

DURATION_S = 180
RATE_HZ = 44_100


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _hostile(path: Path) -> None:
    try:
        isolated.decode_audio_isolated(path)
    except DataQualityError:
        return
    raise AssertionError("hostile header was accepted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        rows["fork server start + first round trip (ms)"] = _timed(
            lambda: isolated.run_isolated(isolated._probe_allocate, 1))
        rows["empty isolated round trip (ms)"] = statistics.median(
            _timed(lambda: isolated.run_isolated(isolated._probe_allocate, 1)) for _ in range(args.repeats))
        lie = Path(folder) / "lie.wav"
        fmt = struct.pack("<HHIIHH", 1, 1, RATE_HZ, RATE_HZ * 2, 2, 16)
        lie.write_bytes(b"RIFF" + struct.pack("<I", 0xFFFF_FFF0) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
                        + b"data" + struct.pack("<I", 0xFFFF_FFF0) + bytes(16))
        rows["60-byte WAV claiming 4 GiB refused (ms)"] = statistics.median(
            _timed(lambda: _hostile(lie)) for _ in range(args.repeats))
        music = np.random.default_rng(0).uniform(-0.5, 0.5, (DURATION_S * RATE_HZ, 2)).astype(np.float32)
        for ext in ("wav", "flac"):
            path = Path(folder) / f"three_minutes.{ext}"
            sf.write(path, music, RATE_HZ, subtype="PCM_16")
            local = statistics.median(_timed(lambda: load_audio(path)) for _ in range(args.repeats))
            child = statistics.median(_timed(lambda: isolated.decode_audio_isolated(path)) for _ in range(args.repeats))
            rows[f"3 min stereo {ext.upper()} in-process (ms)"] = local
            rows[f"3 min stereo {ext.upper()} isolated (ms)"] = child
            rows[f"3 min stereo {ext.upper()} overhead (ms)"] = child - local
    if args.json:
        print(json.dumps({k: round(v, 1) for k, v in rows.items()}))
        return
    width = max(map(len, rows))
    print(f"{'measure':<{width}}  value")
    for key, value in rows.items():
        print(f"{key:<{width}}  {value:8.1f}")


if __name__ == "__main__":
    main()
