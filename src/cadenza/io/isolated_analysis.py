"""Decode-and-analyse of uploaded recordings in one resource-limited child process.

Analysis of an upload is as untrusted as its decoding: a 20 MB WAV at 8 kHz is 21 minutes of audio,
and pYIN over it ran for six minutes in the web server. So the MIT attempt analysis runs in the
same limited child as the decode (:func:`cadenza.io.isolated.run_isolated`: memory, CPU and
wall-clock limits), and the work is bounded by the recording's duration before any of it starts.
"""

from __future__ import annotations

from cadenza.errors import ParameterError
from cadenza.io.isolated import DecodeLimits, check_audio_header, load_audio_named, run_isolated, upload_on_disk

#: An MIT attempt is one phrase sung or spoken after the cue; a minute holds the longest level-3
#: phrase several times over.
MAX_ATTEMPT_DURATION_S = 60.0


def _analyse_attempt_child(src: str, name: str, melody, max_duration_s: float, memory_bytes: int):
    """Child target: header check, duration bound, decode (mono), :func:`analyse_response`."""
    import soundfile as sf

    from cadenza.mit.response import analyse_response

    def refuse_if_too_long(duration_s: float) -> None:
        if duration_s > max_duration_s:
            raise ParameterError(f"attempt {name!r} is {duration_s:.0f} s long; an MIT attempt may be at most "
                                 f"{max_duration_s:g} s (record one phrase)")

    check_audio_header(src, memory_bytes=memory_bytes, name=name)
    info = sf.info(src)
    if info.samplerate > 0:
        refuse_if_too_long(info.frames / info.samplerate)
    audio = load_audio_named(src, name=name, mono=True)
    refuse_if_too_long(audio.samples.shape[-1] / audio.sampling_rate_hz)  # compressed headers may lack a count
    return analyse_response(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, melody=melody)


def analyse_attempt_bytes_isolated(data: bytes, *, melody, name: str = "upload", limits: DecodeLimits | None = None,
                                   max_duration_s: float = MAX_ATTEMPT_DURATION_S):
    """Decode an uploaded MIT attempt and compare it with ``melody`` in a limited child process.

    Returns the :class:`cadenza.mit.response.ResponseAnalysis`. A recording longer than
    ``max_duration_s`` is refused (:class:`ParameterError`) before decoding when its header gives
    the length, else right after; limits hit or a crash raise :class:`DataQualityError`.
    """
    if not max_duration_s > 0:
        raise ParameterError(f"max_duration_s must be > 0 s, got {max_duration_s!r}")
    limits = limits or DecodeLimits.from_env()
    with upload_on_disk(data, name=name) as src:
        return run_isolated(_analyse_attempt_child, src, name, melody, float(max_duration_s), limits.memory_bytes,
                            limits=limits, what=f"analysing {name!r}")
