"""Decode-and-analyse of uploaded recordings in one resource-limited child process.

Analysis of an upload is as untrusted as its decoding: a 20 MB WAV at 8 kHz is 21 minutes of audio,
and pYIN over it ran for six minutes in the web server. So the MIT attempt analysis runs in the
same limited child as the decode (:func:`cadenza.io.isolated.run_isolated`: memory, CPU and
wall-clock limits), and the work is bounded by the recording's duration before any of it starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.isolated import DecodeLimits, check_audio_header, run_isolated

#: An MIT attempt is one phrase sung or spoken after the cue; a minute holds the longest level-3
#: phrase several times over.
MAX_ATTEMPT_DURATION_S = 60.0


def _analyse_attempt_child(src: str, name: str, melody, max_duration_s: float, memory_bytes: int):
    """Child target: header check, duration bound, decode (mono), :func:`analyse_response`."""
    import soundfile as sf

    from cadenza.io.audio import load_audio
    from cadenza.mit.response import analyse_response

    check_audio_header(src, memory_bytes=memory_bytes, name=name)
    info = sf.info(src)
    frames, rate = int(info.frames), int(info.samplerate)
    if rate > 0 and frames / rate > max_duration_s:
        raise ParameterError(f"attempt {name!r} is {frames / rate:.0f} s long; an MIT attempt may be at most "
                             f"{max_duration_s:g} s (record one phrase)")
    try:
        audio = load_audio(src, mono=True)
    except DataQualityError as exc:
        raise DataQualityError(str(exc).replace(repr(src), repr(name)).replace(src, name)) from None
    duration_s = audio.samples.shape[-1] / audio.sampling_rate_hz
    if duration_s > max_duration_s:  # headers of compressed formats may not carry a frame count
        raise ParameterError(f"attempt {name!r} is {duration_s:.0f} s long; an MIT attempt may be at most "
                             f"{max_duration_s:g} s (record one phrase)")
    return analyse_response(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, melody=melody)


def analyse_attempt_bytes_isolated(data: bytes, *, melody, name: str = "upload", limits: DecodeLimits | None = None,
                                   max_duration_s: float = MAX_ATTEMPT_DURATION_S):
    """Decode an uploaded MIT attempt and compare it with ``melody`` in a limited child process.

    Returns the :class:`cadenza.mit.response.ResponseAnalysis`. A recording longer than
    ``max_duration_s`` is refused (:class:`ParameterError`) before decoding when its header gives
    the length, else right after; limits hit or a crash raise :class:`DataQualityError`.
    """
    if not data:
        raise DataQualityError(f"audio {name!r} is empty (0 bytes)")
    if not max_duration_s > 0:
        raise ParameterError(f"max_duration_s must be > 0 s, got {max_duration_s!r}")
    limits = limits or DecodeLimits.from_env()
    workdir = tempfile.mkdtemp(prefix="cadenza-upload-")  # mode 0700
    try:
        src = os.path.join(workdir, "upload.bin")
        with open(src, "wb") as fh:
            fh.write(data)
        return run_isolated(_analyse_attempt_child, src, name, melody, float(max_duration_s), limits.memory_bytes,
                            limits=limits, what=f"analysing {name!r}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
