"""Optional Rubber Band backend: the external ``rubberband`` executable (GPL), detected at run time.

Rubber Band is never part of Cadenza's install or imports; this wrapper only runs the executable if the
user installed it (``apt install rubberband-cli``). It lives in the command-line layer because it writes
temporary files and starts a process. Rubber Band's ``--timemap`` takes the same (source, target)
anchors as :class:`cadenza.render.stretch.TimeMap`, so beat-synchronous warping works unchanged.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from cadenza.errors import CadenzaError, ParameterError

EXECUTABLE = "rubberband"


def rubberband_available() -> bool:
    return shutil.which(EXECUTABLE) is not None


class RubberBandStretcher:
    """``stretch()`` along a time map with the Rubber Band CLI (R2 engine by default, ``fine`` for R3)."""

    name = "rubberband"

    def __init__(self, *, fine: bool = False, timeout_s: float = 3600.0) -> None:
        path = shutil.which(EXECUTABLE)
        if path is None:
            raise ParameterError(
                "stretcher 'rubberband' needs the external rubberband executable (GPL, optional; "
                "e.g. apt install rubberband-cli); use the built-in 'wsola' otherwise"
            )
        self.executable = path
        self.fine = fine
        self.timeout_s = timeout_s

    def stretch(self, samples: np.ndarray, *, sampling_rate_hz: int, time_map, duration_s: float | None = None):
        from cadenza.io.audio import load_audio, save_audio

        samples = np.asarray(samples, dtype=np.float32)
        n_in = samples.shape[-1]
        natural_s = float(time_map.out_time_s(np.array([n_in / sampling_rate_hz]))[0])
        n_out = int(round((natural_s if duration_s is None else duration_s) * sampling_rate_hz))
        anchors_in = np.rint(time_map.in_times_s * sampling_rate_hz).astype(np.int64)
        anchors_out = np.rint(time_map.out_times_s * sampling_rate_hz).astype(np.int64)
        keep = (anchors_in > 0) & (anchors_in < n_in)
        with tempfile.TemporaryDirectory(prefix="cadenza-rb-") as tmp:
            src, dst, keys = Path(tmp) / "in.wav", Path(tmp) / "out.wav", Path(tmp) / "map.txt"
            save_audio(src, samples, sampling_rate_hz=sampling_rate_hz, subtype="FLOAT")
            keys.write_text("".join(f"{a} {b}\n" for a, b in zip(anchors_in[keep], anchors_out[keep], strict=True)))
            cmd = [self.executable, "-q", "--timemap", str(keys), "-D", f"{natural_s:.6f}"]
            cmd += ["--fine"] if self.fine else []
            result = subprocess.run([*cmd, str(src), str(dst)], capture_output=True, text=True,
                                    timeout=self.timeout_s, check=False)
            if result.returncode != 0:
                raise CadenzaError(f"rubberband failed ({result.returncode}): {result.stderr.strip()[:300]}")
            out = load_audio(dst).samples
        out = out[..., :n_out]
        if out.shape[-1] < n_out:
            pad = [(0, 0)] * (out.ndim - 1) + [(0, n_out - out.shape[-1])]
            out = np.pad(out, pad)
        self.samples_ = out.astype(np.float32)
        return self
