"""Reading and writing audio files. Everything else works on arrays.

Arrays follow the house layout: time on the last axis, so mono is ``(n,)`` and
multichannel is ``(channels, n)``; samples are float32 in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from cadenza.errors import DataQualityError, ParameterError

WRITE_BLOCK_FRAMES = 65_536  # libsndfile's OGG encoder can crash on one-shot writes of long signals
SUPPORTED_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` is ``(n,)`` for mono or ``(channels, n)``."""

    samples: np.ndarray
    sampling_rate_hz: int

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sampling_rate_hz

    @property
    def mono(self) -> np.ndarray:
        """The channels averaged to one ``(n,)`` array."""
        return self.samples if self.samples.ndim == 1 else self.samples.mean(axis=0)


def existing_audio_file(path: str | Path) -> Path:
    """``path`` as a Path, or :class:`ParameterError` if it is not a file and :class:`DataQualityError`
    if it is empty; every reader of audio files checks the same way, with the same messages."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"audio file {str(path)!r} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise DataQualityError(f"audio file {str(path)!r} is empty (0 bytes)")
    return path


def load_audio(path: str | Path, *, mono: bool = False) -> Audio:
    """Decode WAV, FLAC, OGG/Opus or MP3 with libsndfile (bundled with ``soundfile``).

    Raises :class:`ParameterError` if the file is missing and :class:`DataQualityError` if it
    cannot be decoded or holds no samples; the message names the file and the reason.
    """
    path = existing_audio_file(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise DataQualityError(f"cannot decode audio file {str(path)!r}: {exc}") from exc
    if data.shape[0] == 0:
        raise DataQualityError(f"audio file {str(path)!r} holds no samples")
    if not np.all(np.isfinite(data)):
        raise DataQualityError(f"audio file {str(path)!r} contains NaN or infinite samples")
    samples = data.T  # time on the last axis
    if mono or samples.shape[0] == 1:
        samples = samples.mean(axis=0)
    return Audio(samples=np.ascontiguousarray(samples, dtype=np.float32), sampling_rate_hz=int(rate))


def save_audio(path: str | Path, samples: np.ndarray, *, sampling_rate_hz: int, subtype: str | None = None) -> Path:
    """Write ``samples`` (``(n,)`` or ``(channels, n)``) as WAV, FLAC or OGG, chosen by extension."""
    path = Path(path)
    fmt = SUPPORTED_WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ParameterError(
            f"output path {str(path)!r} must end in one of {sorted(SUPPORTED_WRITE_FORMATS)}"
        )
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim not in (1, 2):
        raise ParameterError(f"samples must be 1-D or (channels, n), got shape {samples.shape!r}")
    if not np.all(np.isfinite(samples)):
        raise ParameterError("samples contain NaN or infinite values; refusing to write audio")
    frames = samples[:, None] if samples.ndim == 1 else samples.T
    if fmt == "WAV" and subtype is None:
        subtype = "PCM_16"
    with sf.SoundFile(str(path), "w", samplerate=int(sampling_rate_hz), channels=frames.shape[1],
                      format=fmt, subtype=subtype) as out:
        for start in range(0, frames.shape[0], WRITE_BLOCK_FRAMES):
            out.write(frames[start:start + WRITE_BLOCK_FRAMES])
    return path
