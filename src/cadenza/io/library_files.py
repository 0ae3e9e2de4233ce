"""Scanning a music library on disk: find audio files, fingerprint them, read tags, decode and
analyse new or changed files across processes, and write playlists (M3U8, XSPF).

Nothing here touches the database. The caller passes what it already knows (``known``: path ->
:class:`KnownTrack`) and stores what comes back. A rescan decodes nothing for a file whose size,
modification time and analysis version are unchanged, and reuses the analysis of a file whose
content hash is already known (a moved or re-touched file). Every problem with a file becomes a
:class:`FileProblem` with its reason; no file can stop the scan.

Formats: MP3, FLAC, OGG/Opus and WAV are decoded by libsndfile (via :func:`cadenza.io.audio.load_audio`).
M4A/AAC is patent-encumbered and libsndfile does not decode it: its tags are read (tinytag) and it
is listed in the library, and its audio is decoded only if an ``ffmpeg`` executable is on the PATH
(Cadenza does not install one: Debian's ffmpeg build is GPL). Without it the track is listed with a
problem "not analysed" and a hint to convert it to FLAC or install ffmpeg.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cadenza.errors import CadenzaError, DataQualityError, ParameterError
from cadenza.io.audio import Audio, load_audio
from cadenza.io.tags import TAG_EXTENSIONS, TrackTags, read_tags
from cadenza.music.analysis import ANALYSIS_VERSION, TrackAnalysis, analyze_track

AUDIO_EXTENSIONS = frozenset(TAG_EXTENSIONS)
HASH_BLOCK_BYTES = 1 << 20
#: A decoded length this much shorter than the header's duration means a truncated file.
TRUNCATION_TOLERANCE_S = 1.0
FFMPEG_DECODE_RATE_HZ = 22050


@dataclass(frozen=True)
class KnownTrack:
    """What the library cache already holds for a file."""

    path: str
    size_bytes: int
    mtime_ns: int
    content_sha256: str
    analysis_version: int | None  # None: tags only, never analysed


@dataclass(frozen=True)
class FileProblem:
    path: str
    reason: str
    severity: str = "error"  # "error": not analysed; "warning": analysed with a caveat


@dataclass(frozen=True)
class ScannedTrack:
    """One music file found by a scan: where it is, whether it is new, changed, unchanged or moved since the
    last scan (by size, time and content hash), its tags and analysis when it was (re)read, and problems."""

    path: str
    size_bytes: int
    mtime_ns: int
    status: str  # "new", "changed", "unchanged", "moved"
    content_sha256: str = ""
    tags: TrackTags | None = None  # None when unchanged (the cache has them)
    analysis: TrackAnalysis | None = None  # None when unchanged/moved or not analysable
    decoded: bool = False
    problems: tuple[FileProblem, ...] = ()


@dataclass
class ScanReport:
    """The files a library scan found (:class:`ScannedTrack`), the ones it could not read, and its duration."""

    tracks: list[ScannedTrack] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def n_decoded(self) -> int:
        return sum(t.decoded for t in self.tracks)

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.tracks)


def find_audio_files(dirs: Iterable[str | Path]) -> list[Path]:
    """Audio files (by extension, case-insensitive) under each directory, sorted; hidden
    files and folders are skipped. A directory that does not exist is a :class:`ParameterError`."""
    found: set[Path] = set()
    for d in dirs:
        root = Path(d)
        if root.is_file():
            if root.suffix.lower() in AUDIO_EXTENSIONS:
                found.add(root.resolve())
            continue
        if not root.is_dir():
            raise ParameterError(f"library folder {str(root)!r} does not exist or is not a folder")
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
            for name in filenames:
                if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                    found.add((Path(dirpath) / name).resolve())
    return sorted(found)


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(HASH_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


MIN_PARTIAL_S = 5.0
PARTIAL_BLOCK_FRAMES = 65_536


class PartialDecode(DataQualityError):
    """The file broke off (truncated or corrupt) after ``audio.duration_s`` readable seconds."""

    def __init__(self, audio: Audio, reason: str):
        super().__init__(reason)
        self.audio = audio


def _decode_readable_part(path: Path) -> Audio | None:
    """Frames read block by block until the decoder fails; None if under ``MIN_PARTIAL_S``."""
    import soundfile as sf

    blocks = []
    try:
        with sf.SoundFile(str(path)) as fh:
            rate = fh.samplerate
            while True:
                block = fh.read(PARTIAL_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                blocks.append(block)
    except Exception:  # noqa: BLE001 - the point is to keep what came before the failure
        pass
    if not blocks:
        return None
    data = np.concatenate(blocks).T
    if data.shape[1] < MIN_PARTIAL_S * rate or not np.all(np.isfinite(data)):
        return None
    samples = data[0] if data.shape[0] == 1 else data
    return Audio(samples=np.ascontiguousarray(samples), sampling_rate_hz=int(rate))


def decode_audio(path: str | Path) -> Audio:
    """Decode any supported library format; M4A needs ``ffmpeg`` on the PATH (see module doc)."""
    path = Path(path)
    if path.suffix.lower() != ".m4a":
        try:
            return load_audio(path)
        except DataQualityError as exc:
            partial = _decode_readable_part(path)
            if partial is None:
                raise
            raise PartialDecode(partial, str(exc)) from exc
    if path.stat().st_size == 0:
        raise DataQualityError(f"audio file {str(path)!r} is empty (0 bytes)")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise DataQualityError(
            f"cannot decode {str(path)!r}: M4A/AAC audio needs ffmpeg, which is not installed; "
            "tags were read, audio not analysed (convert it to FLAC, or install ffmpeg and rescan)"
        )
    proc = subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-f", "f32le", "-ac", "1",
         "-ar", str(FFMPEG_DECODE_RATE_HZ), "-"],
        capture_output=True, timeout=600, check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        reason = proc.stderr.decode("utf-8", errors="replace").strip()[:200] or "no audio"
        raise DataQualityError(f"cannot decode audio file {str(path)!r} with ffmpeg: {reason}")
    samples = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)
    return Audio(samples=samples, sampling_rate_hz=FFMPEG_DECODE_RATE_HZ)


def analyze_file(path: str | Path, *, status: str = "new", content_sha256: str | None = None) -> ScannedTrack:
    """Fingerprint, tag, decode and analyse one file. Never raises for a bad file: problems
    are returned in the track (tags-only tracks keep ``analysis=None``)."""
    path = Path(path)
    problems: list[FileProblem] = []
    try:
        stat = path.stat()
    except OSError as exc:
        return ScannedTrack(str(path), 0, 0, status, problems=(FileProblem(str(path), f"cannot read file: {exc}"),))
    size, mtime_ns = stat.st_size, stat.st_mtime_ns
    if size == 0:
        return ScannedTrack(str(path), size, mtime_ns, status,
                            problems=(FileProblem(str(path), "empty file (0 bytes)"),))
    try:
        sha = content_sha256 or content_hash(path)
    except OSError as exc:
        return ScannedTrack(str(path), size, mtime_ns, status,
                            problems=(FileProblem(str(path), f"cannot read file: {exc}"),))
    tags: TrackTags | None
    try:
        tags = read_tags(path)
        problems.extend(FileProblem(str(path), w, "warning") for w in tags.warnings)
    except CadenzaError as exc:
        tags = None
        problems.append(FileProblem(str(path), f"tags unreadable: {_reason(exc)}", "warning"))
    analysis = None
    decoded = False
    try:
        partial_decode = False
        try:
            audio = decode_audio(path)
        except PartialDecode as partial:
            partial_decode = True
            audio = partial.audio
            problems.append(FileProblem(
                str(path), f"file is truncated or corrupt after {audio.duration_s:.1f} s ({_reason(partial)}); "
                "analysed the readable part", "warning"))
        decoded = True
        analysis = analyze_track(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
        expected = tags.duration_s if tags else None
        if expected and not partial_decode and audio.duration_s < expected - TRUNCATION_TOLERANCE_S:
            problems.append(FileProblem(
                str(path), f"file looks truncated: header says {expected:.1f} s, decoded {audio.duration_s:.1f} s",
                "warning"))
    except CadenzaError as exc:
        problems.append(FileProblem(str(path), _reason(exc)))
    except Exception as exc:  # noqa: BLE001 - a decoder bug on one file must not stop a scan
        problems.append(FileProblem(str(path), f"analysis failed: {type(exc).__name__}: {exc}"))
    if tags is None and analysis is None:
        # Neither tags nor audio: not a usable audio file at all (wrong extension, corrupt).
        problems = [p for p in problems if p.severity == "error"] or problems
    return ScannedTrack(str(path), size, mtime_ns, status, content_sha256=sha, tags=tags,
                        analysis=analysis, decoded=decoded, problems=tuple(problems))


def _reason(exc: Exception) -> str:
    return str(exc).replace("\n", " ")


def _classify(path: Path, known: Mapping[str, KnownTrack]) -> tuple[str, os.stat_result | None]:
    try:
        stat = path.stat()
    except OSError:
        return "new", None
    prior = known.get(str(path))
    if prior is None:
        return "new", stat
    same = prior.size_bytes == stat.st_size and prior.mtime_ns == stat.st_mtime_ns
    if same and prior.analysis_version in (ANALYSIS_VERSION, None) and _analysis_settled(prior):
        return "unchanged", stat
    return "changed", stat


def _analysis_settled(prior: KnownTrack) -> bool:
    """An unchanged file that could not be analysed stays as it was (its problem is cached), except
    an M4A once ffmpeg has become available."""
    if prior.analysis_version is not None:
        return True
    return not (Path(prior.path).suffix.lower() == ".m4a" and shutil.which("ffmpeg") is not None)


def _process_one(path_str: str, status: str, known_hashes: frozenset[str]) -> ScannedTrack:
    """Worker body: reuse an analysis by content hash when possible, else analyse."""
    path = Path(path_str)
    if known_hashes:
        try:
            sha = content_hash(path)
            stat = path.stat()
        except OSError:
            sha = ""
        if sha and sha in known_hashes:
            return ScannedTrack(path_str, stat.st_size, stat.st_mtime_ns, "moved", content_sha256=sha)
        return analyze_file(path, status=status, content_sha256=sha or None)
    return analyze_file(path, status=status)


def scan_library(
    dirs: Iterable[str | Path],
    *,
    known: Mapping[str, KnownTrack] | None = None,
    processes: int | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    on_track: Callable[[ScannedTrack], None] | None = None,
) -> ScanReport:
    """Scan folders: new or changed files are analysed (spread over ``processes`` worker
    processes; default: all cores, 1 = in this process), unchanged files are not opened.

    ``on_progress(done, total, path)`` is called in this process after each file, and
    ``on_track(track)`` with each analysed (not unchanged) file as soon as it is done, so a caller
    can store results in batches and an interrupted scan keeps what it finished.
    """
    if processes is not None and processes < 1:
        raise ParameterError(f"processes must be >= 1 (or None for all cores), got {processes!r}")
    started = time.perf_counter()
    known = dict(known or {})
    files = find_audio_files(dirs)
    report = ScanReport()
    # Only hashes of analysed entries can stand in for an analysis.
    known_hashes = frozenset(k.content_sha256 for k in known.values()
                             if k.content_sha256 and k.analysis_version == ANALYSIS_VERSION)
    todo: list[tuple[str, str]] = []
    total = len(files)
    done = 0
    for path in files:
        status, stat = _classify(path, known)
        if status == "unchanged" and stat is not None:
            report.tracks.append(ScannedTrack(str(path), stat.st_size, stat.st_mtime_ns, "unchanged",
                                              content_sha256=known[str(path)].content_sha256))
            done += 1
            if on_progress:
                on_progress(done, total, str(path))
        else:
            todo.append((str(path), status))
    workers = processes or os.cpu_count() or 1
    workers = max(1, min(workers, len(todo)))
    results: list[ScannedTrack] = []

    def finished(track: ScannedTrack, path_str: str) -> None:
        nonlocal done
        results.append(track)
        if on_track:
            on_track(track)
        done += 1
        if on_progress:
            on_progress(done, total, path_str)

    if workers == 1:
        for path_str, status in todo:
            finished(_process_one(path_str, status, known_hashes), path_str)
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                          else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_process_one, p, s, known_hashes): p for p, s in todo}
            for future in as_completed(futures):
                path_str = futures[future]
                try:
                    track = future.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker costs one file, not the scan
                    track = ScannedTrack(path_str, 0, 0, "new", problems=(
                        FileProblem(path_str, f"worker failed: {type(exc).__name__}: {exc}"),))
                finished(track, path_str)
    report.tracks.extend(results)
    report.tracks.sort(key=lambda t: t.path)
    report.problems = [p for t in report.tracks for p in t.problems]
    report.elapsed_s = time.perf_counter() - started
    return report


# -- playlist files -------------------------------------------------------------------------------

def write_playlist_file(path: str | Path, text: str) -> Path:
    """Write a rendered playlist (see :mod:`cadenza.music.playlist_formats`) as UTF-8."""
    path = Path(path)
    if path.suffix.lower() not in (".m3u8", ".m3u", ".xspf"):
        raise ParameterError(f"playlist path {str(path)!r} must end in .m3u8 or .xspf")
    path.write_text(text, encoding="utf-8")
    return path


def write_chart_file(path: str | Path, data: bytes) -> Path:
    """Write rendered chart bytes (SVG or PNG, by extension)."""
    path = Path(path)
    if path.suffix.lower() not in (".svg", ".png"):
        raise ParameterError(f"chart path {str(path)!r} must end in .svg or .png")
    path.write_bytes(data)
    return path


__all__ = [
    "AUDIO_EXTENSIONS", "FileProblem", "KnownTrack", "ScanReport", "ScannedTrack", "analyze_file",
    "content_hash", "decode_audio", "find_audio_files", "scan_library", "write_chart_file", "write_playlist_file",
]
