"""Decoding untrusted files in a child process with memory, CPU and wall-clock limits.

A crafted upload (a header declaring 4 GiB, 10^6 channels, a decoder bug) must not be able to
exhaust the web server's memory or hang a worker (reliability anchors T23, T25). So the decode runs
in a child process started from a ``forkserver`` (about 5 ms a child once the server is up; ``spawn``
costs about 30 ms plus re-importing numpy and soundfile), which first lowers its own
``RLIMIT_AS`` and ``RLIMIT_CPU``; the parent kills it at a wall-clock deadline. Decoded samples
come back as a ``.npy`` file in a private temporary folder that is removed afterwards. Any limit
hit, crash or timeout becomes a :class:`DataQualityError` (HTTP 422 in the web layer).

Before decoding, :func:`check_audio_header` asks libsndfile for the header alone (channels,
rate, frame count), so a file whose header promises more than the memory budget is refused in
milliseconds without allocating anything.

Platforms without the ``resource`` module (Windows) cannot set the limits: with
``Settings.isolate_decoding`` off (``CADENZA_ISOLATE_DECODING=0``) the decode runs in-process
behind the header check only.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import CadenzaError, DataQualityError, ParameterError

#: False on Windows: no rlimits there, so :meth:`DecodeLimits.from_settings` never isolates.
HAVE_RESOURCE = importlib.util.find_spec("resource") is not None

MAX_CHANNELS = 8
MIN_SAMPLING_RATE_HZ = 8_000
MAX_SAMPLING_RATE_HZ = 192_000
BYTES_PER_DECODED_SAMPLE = 4  # float32
DEFAULT_MEMORY_BYTES = 2 * 1024**3
DEFAULT_CPU_S = 30
DEFAULT_TIMEOUT_S = 30.0
# How long a killed child may take to be reaped before the parent stops waiting for it.
_REAP_S = 5.0


@dataclass(frozen=True)
class DecodeLimits:
    """Resource limits for one isolated decode.

    ``memory_bytes`` caps the child's address space (and the header's promised decoded size),
    ``cpu_s`` its CPU time, ``timeout_s`` the parent's wall-clock wait; ``isolate=False`` decodes
    in-process behind the header check alone (for platforms without ``resource``).
    """

    memory_bytes: int = DEFAULT_MEMORY_BYTES
    cpu_s: int = DEFAULT_CPU_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    isolate: bool = True

    def __post_init__(self) -> None:
        if self.memory_bytes < 64 * 1024**2:
            raise ParameterError(f"memory_bytes must be >= 64 MiB (bytes, not MiB), got {self.memory_bytes!r}")
        if self.cpu_s < 1:
            raise ParameterError(f"cpu_s must be >= 1 s, got {self.cpu_s!r}")
        if not self.timeout_s > 0:
            raise ParameterError(f"timeout_s must be > 0 s, got {self.timeout_s!r}")

    @classmethod
    def from_settings(cls, settings: Any) -> "DecodeLimits":
        """The limits a :class:`cadenza.settings.Settings` configures; never isolated without ``resource``."""
        return cls(memory_bytes=settings.decode_memory_bytes, cpu_s=settings.decode_cpu_s,
                   timeout_s=settings.decode_timeout_s, isolate=settings.isolate_decoding and HAVE_RESOURCE)

    @classmethod
    def from_env(cls) -> "DecodeLimits":
        from cadenza.settings import Settings

        return cls.from_settings(Settings.from_env())


def _describe_bytes(n: int) -> str:
    return f"{n / 1024**3:g} GiB" if n >= 1024**3 else f"{n / 1024**2:g} MiB"


def check_audio_header(path: str | Path, *, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                       name: str | None = None) -> None:
    """Refuse an audio file whose header alone shows it is unusable or too big to decode.

    Reads only the header (``soundfile.info``): channels must be 1..8, the rate 8-192 kHz, a WAV's
    ``data`` chunk no larger than the file, and ``frames x channels x 4`` bytes (the decoded float32
    size) within ``memory_bytes``. Raises
    :class:`DataQualityError` naming the file and the value.

    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "a.wav")
    >>> sf.write(path, np.zeros(800, dtype="float32"), 8000)
    >>> check_audio_header(path)  # fine: returns None
    >>> folder.cleanup()
    """
    import soundfile as sf

    label = name or str(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        # libsndfile's message names the (temporary) path; the caller's name is what the user knows.
        raise DataQualityError(f"cannot decode audio {label!r}: {str(exc).replace(str(path), label)}") from None
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise DataQualityError(f"audio {label!r} declares {info.channels!r} channels; expected 1 to {MAX_CHANNELS}")
    if not MIN_SAMPLING_RATE_HZ <= info.samplerate <= MAX_SAMPLING_RATE_HZ:
        raise DataQualityError(
            f"audio {label!r} declares a sampling rate of {info.samplerate!r} Hz; expected "
            f"{MIN_SAMPLING_RATE_HZ} to {MAX_SAMPLING_RATE_HZ} Hz")
    if info.format == "WAV" and (data := _wav_data_chunk(path)) is not None and data[0] > data[1]:
        declared, present = data
        raise DataQualityError(
            f"audio {label!r} is truncated or its header is wrong: it declares {declared} bytes of audio, "
            f"the file holds {present}; export the recording again")
    decoded_bytes = int(info.frames) * info.channels * BYTES_PER_DECODED_SAMPLE
    if info.frames < 0 or decoded_bytes > memory_bytes:
        raise DataQualityError(
            f"audio {label!r} declares {info.frames!r} frames x {info.channels} channels: the file needs more "
            f"than {_describe_bytes(memory_bytes)} to decode")


def _wav_data_chunk(path: str | Path) -> tuple[int, int] | None:
    """``(declared, present)`` byte counts of a RIFF/WAVE file's ``data`` chunk, or None if not found.

    libsndfile quietly reads what is there when a WAV header claims more; a claim beyond the end of
    the file is either a truncated recording or a crafted header, and the upload is refused for both.
    """
    import struct

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        offset = 12
        for _ in range(_MAX_WAV_CHUNKS):
            fh.seek(offset)
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, chunk_bytes = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"data":
                return chunk_bytes, size - offset - 8
            offset += 8 + chunk_bytes + (chunk_bytes & 1)  # chunks are padded to an even length
    return None


_MAX_WAV_CHUNKS = 64


# -- the child side -----------------------------------------------------------------------------------

def _limit_resources(memory_bytes: int, cpu_s: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # The soft limit sends SIGXCPU; the hard one, a second later, SIGKILL if that is ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dump of a crashed decoder


def _child_main(conn, target: Callable[..., Any], args: tuple, memory_bytes: int, cpu_s: int) -> None:
    try:
        _limit_resources(memory_bytes, cpu_s)
        reply: tuple = ("ok", target(*args))
    except MemoryError:
        reply = ("memory", "")
    except CadenzaError as exc:
        message = str(exc)
        reply = ("memory", message) if "malloc" in message.lower() else ("error", (type(exc).__name__, message))
    except BaseException as exc:  # noqa: BLE001 - any decoder failure is reported, never re-raised here
        reply = ("crash", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(reply)
    except MemoryError:
        conn.send(("memory", ""))
    conn.close()


def load_audio_named(src: str, *, name: str, mono: bool):
    """:func:`cadenza.io.audio.load_audio` of a temporary copy, its errors naming the upload (``name``)
    instead of the temporary path (child side)."""
    from cadenza.io.audio import load_audio

    try:
        return load_audio(src, mono=mono)
    except DataQualityError as exc:
        raise DataQualityError(str(exc).replace(repr(src), repr(name)).replace(src, name)) from None


def _decode_to_npy(src: str, dst: str, name: str, mono: bool, memory_bytes: int) -> int:
    """Child target: header check, decode with :func:`load_audio`, save samples to ``dst``."""
    check_audio_header(src, memory_bytes=memory_bytes, name=name)
    audio = load_audio_named(src, name=name, mono=mono)
    np.save(dst, audio.samples, allow_pickle=False)
    return audio.sampling_rate_hz


IMU_EXPANSION = 16  # float64 x 3 axes per ~30-byte CSV row is ~1x; 16x leaves room for NaN-filled gaps
IMU_RESULT_SLACK_BYTES = 16 * 1024**2  # ~700,000 samples: 2 h at 100 Hz whatever the file size


def _parse_imu(text: str, source: str, sampling_rate_hz: float | None):
    from cadenza.io.imu import parse_imu_csv

    recording = parse_imu_csv(text, source=source, sampling_rate_hz=sampling_rate_hz)
    result_bytes = recording.acc_m_s2.nbytes + (recording.gyr_deg_s.nbytes if recording.gyr_deg_s is not None else 0)
    if result_bytes > IMU_EXPANSION * len(text) + IMU_RESULT_SLACK_BYTES:
        raise DataQualityError(
            f"IMU file {source!r}: resampling its timestamps to a uniform grid gives "
            f"{recording.acc_m_s2.shape[-1]} samples ({result_bytes / 1024**2:.0f} MiB) from "
            f"{len(text)} characters; check the time column for a jump")
    return recording


def _parse_insole(text: str, source: str, sampling_rate_hz: float | None):
    from cadenza.io.insole import parse_insole

    return parse_insole(text, source=source, sampling_rate_hz=sampling_rate_hz)


def _read_tags(src: str):
    from cadenza.io.tags import read_tags

    return read_tags(src)


# Probes for the limits themselves (tests and the benchmark run them): module-level so a child
# process can import them by name, which test modules imported by path cannot offer.

def _probe_allocate(n_bytes: int) -> int:
    return int(np.ones(n_bytes, dtype=np.uint8).sum())


def _probe_spin() -> None:
    while True:
        pass


def _probe_signal(signum: int) -> None:
    os.kill(os.getpid(), signum)


# -- the parent side ----------------------------------------------------------------------------------

def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        # Children fork from a server that already imported numpy, soundfile and the main module (so a
        # child does not re-run the main script); no effect once the server runs. Like any
        # multiprocessing user, a main script must guard its entry point with ``if __name__ == "__main__"``.
        # The MIT attempt analysis (numpy-only pYIN) is preloaded too: a few ms of the server's start,
        # 0.1 s less in every attempt's child; nothing that maps much memory (librosa, scipy) is.
        ctx.set_forkserver_preload(["__main__", "numpy", "soundfile", "cadenza.io.audio", "cadenza.io.isolated",
                                    "cadenza.io.isolated_analysis", "cadenza.mit.response", "cadenza.singing.pyin"])
        return ctx
    return multiprocessing.get_context("spawn")


def _reap(proc, *, kill_now: bool) -> int | None:
    """Wait for (or kill) the child and release it; its exit code (negative: the signal)."""
    if proc._popen is None:  # never started
        return None
    if not kill_now:
        proc.join(_REAP_S)  # it answered and is exiting by itself
    if proc.is_alive():
        proc.kill()
    proc.join(_REAP_S)
    exitcode = proc.exitcode
    if exitcode is not None:
        proc.close()
    return exitcode


def run_isolated(target: Callable[..., Any], *args: Any, limits: DecodeLimits | None = None,
                 what: str = "decoding") -> Any:
    """Run ``target(*args)`` in a resource-limited child process and return its (picklable) result.

    ``target`` must be a module-level function. A :class:`ParameterError` (or subclass) raised in
    the child is raised again here with its message, any other :class:`CadenzaError` as a
    :class:`DataQualityError`; a memory-limit hit, CPU or wall-clock
    timeout, or a crash (a signal) becomes a :class:`DataQualityError` that says which.
    """
    limits = limits or DecodeLimits.from_env()
    if not limits.isolate:
        return target(*args)
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(sender, target, args, limits.memory_bytes, limits.cpu_s),
                       daemon=True, name="cadenza-isolated-decode")
    reply = None
    timed_out = False
    try:
        proc.start()
        sender.close()
        if receiver.poll(limits.timeout_s):
            try:
                reply = receiver.recv()
            except (EOFError, OSError):
                pass  # the child died without answering: its exit code says why
        else:
            timed_out = True
    finally:
        sender.close()
        receiver.close()
        exitcode = _reap(proc, kill_now=timed_out or reply is None)
    if timed_out:
        raise DataQualityError(f"{what} took longer than {limits.timeout_s:g} s; stopped")
    if reply is None:
        if exitcode is not None and exitcode < 0:
            sig = -exitcode
            if sig == signal.SIGXCPU:
                raise DataQualityError(f"{what} took more than {limits.cpu_s} s of CPU time; stopped")
            if sig == signal.SIGKILL:
                raise DataQualityError(f"{what} was killed (signal 9): over its CPU or memory limit")
            raise DataQualityError(f"decoder crashed: signal {sig} ({signal.Signals(sig).name})")
        raise DataQualityError(f"decoder crashed: exit code {exitcode!r}")
    status, value = reply
    if status == "ok":
        return value
    if status == "memory":
        raise DataQualityError(f"the file needs more than {_describe_bytes(limits.memory_bytes)} to decode"
                               + (f" ({value})" if value else ""))
    if status == "error":
        import cadenza.errors

        name, message = value
        error_type = getattr(cadenza.errors, name, None)
        if not (isinstance(error_type, type) and issubclass(error_type, ParameterError)):
            error_type = DataQualityError  # a refused file, whatever the child called it
        raise error_type(message)
    raise DataQualityError(f"decoder crashed: {value}")


def decode_audio_isolated(path: str | Path, *, mono: bool = False, limits: DecodeLimits | None = None,
                          name: str | None = None) -> tuple[np.ndarray, int]:
    """Decode an audio file like :func:`cadenza.io.audio.load_audio`, in a limited child process.

    Returns ``(samples, sampling_rate_hz)`` with the house layout (``(n,)`` mono or
    ``(channels, n)``, float32). ``name`` is how errors refer to the file (an upload's name).

    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "a.wav")
    >>> sf.write(path, np.full(800, 0.5, dtype="float32"), 8000, subtype="FLOAT")
    >>> samples, rate = decode_audio_isolated(path)
    >>> samples.shape, rate, float(samples[0])
    ((800,), 8000, 0.5)
    >>> folder.cleanup()
    """
    from cadenza.io.audio import existing_audio_file, load_audio

    limits = limits or DecodeLimits.from_env()
    path = existing_audio_file(path)
    label = name or str(path)
    if not limits.isolate:
        check_audio_header(path, memory_bytes=limits.memory_bytes, name=label)
        audio = load_audio(path, mono=mono)
        return audio.samples, audio.sampling_rate_hz
    workdir = tempfile.mkdtemp(prefix="cadenza-decode-")  # mode 0700: private to this user
    try:
        out = os.path.join(workdir, "samples.npy")
        rate = run_isolated(_decode_to_npy, str(path), out, label, mono, limits.memory_bytes, limits=limits,
                            what=f"decoding {label!r}")
        if not os.path.isfile(out) or os.path.getsize(out) > limits.memory_bytes:
            raise DataQualityError(f"decoder of {label!r} returned no usable samples")
        samples = np.load(out, allow_pickle=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return samples, int(rate)


def decode_audio_bytes_isolated(data: bytes, *, name: str = "upload", mono: bool = True,
                                limits: DecodeLimits | None = None) -> tuple[np.ndarray, int]:
    """Decode an uploaded recording (WAV, FLAC, OGG, MP3) held in memory; see :func:`decode_audio_isolated`.

    Mono by default, as the upload routes analyse one voice or one walk.
    """
    limits = limits or DecodeLimits.from_env()
    with upload_on_disk(data, name=name) as src:
        return decode_audio_isolated(src, mono=mono, limits=limits, name=name)


@contextmanager
def upload_on_disk(data: bytes, *, name: str) -> Iterator[str]:
    """The path of a private temporary copy of uploaded audio bytes, removed afterwards; empty data is refused."""
    if not data:
        raise DataQualityError(f"audio {name!r} is empty (0 bytes)")
    workdir = tempfile.mkdtemp(prefix="cadenza-upload-")  # mode 0700: private to this user
    try:
        src = os.path.join(workdir, "upload.bin")
        with open(src, "wb") as fh:
            fh.write(data)
        yield src
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def read_tags_isolated(path: str | Path, *, limits: DecodeLimits | None = None):
    """:func:`cadenza.io.tags.read_tags` in a limited child process (tag parsers see untrusted bytes too)."""
    return run_isolated(_read_tags, str(path), limits=limits, what=f"reading tags of {str(path)!r}")


def parse_imu_csv_isolated(text: str, *, source: str = "upload", sampling_rate_hz: float | None = None,
                           limits: DecodeLimits | None = None):
    """:func:`cadenza.io.imu.parse_imu_csv` in a limited child process.

    IMU CSV parsing is not bounded by the upload size: timestamps with a jump (0.01 s steps, then
    1e7 s) make the loader build a uniform grid of 10^9 samples from a 100-byte file. In the child
    such a grid hits the memory limit; a result larger than ``IMU_EXPANSION`` times the text (plus
    ``IMU_RESULT_SLACK_BYTES``) is refused there too, so the parent never receives or analyses it.
    """
    return run_isolated(_parse_imu, text, source, sampling_rate_hz, limits=limits,
                        what=f"parsing IMU file {source!r}")


def parse_insole_isolated(text: str, *, source: str = "upload", sampling_rate_hz: float | None = None,
                          limits: DecodeLimits | None = None):
    """:func:`cadenza.io.insole.parse_insole` in a limited child process, as every upload is parsed."""
    return run_isolated(_parse_insole, text, source, sampling_rate_hz, limits=limits,
                        what=f"parsing force-insole file {source!r}")


__all__ = [
    "HAVE_RESOURCE", "DecodeLimits", "check_audio_header", "decode_audio_bytes_isolated", "decode_audio_isolated",
    "parse_imu_csv_isolated", "parse_insole_isolated", "read_tags_isolated", "run_isolated",
]

