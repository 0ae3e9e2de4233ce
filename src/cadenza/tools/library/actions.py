"""The library workflows both faces call: goal playlists with their level and dose, song responses,
pre-procedure sessions, the analysis of one file and the scan of a client's music.

``cadenza library ...``, ``cadenza analyze``, ``cadenza playlist`` and the pages under
``/clients/{client_id}/library`` only parse their input and present the result; the rules come from here,
so they are the same from both:

- **A playlist comes from the person's own music.** :func:`client_playlist` builds it from the client's
  analysed library with their ratings, family picks and response log, red-flag songs left out (for
  ``goal="reminiscence"`` around the client's birth year); :func:`folder_playlist` does the same from a
  folder without the record (nothing stored, no preferences).
- **Every playlist shows its level and dose.** :func:`playlist_dose` estimates them with the
  conservative uncalibrated default; :func:`client_playlist_dose` with the client's own calibration and
  safety flags, and what the playlist would bring the client's rolling week to.
- **A response is kept on a session.** :func:`respond_to_track` stores it on the session given, else the
  client's latest one; clear agitation on a song not yet flagged comes back as a suggestion to flag it
  (a person decides).
- **A pre-procedure session** (:func:`record_preprocedure`) is a 20-30 min relaxation playlist from the
  person's music with anxiety measured before and after.

Readers take the ``client`` already authorised by the face; writers take ``actor=`` and ``client_id=`` and
authorise through :mod:`cadenza.tools.library.records`. Everything flushes, nothing commits.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cadenza.clinic import listening, service
from cadenza.clinic.models import Client, Therapist
from cadenza.errors import CadenzaError, ParameterError
from cadenza.tools.library import records

if TYPE_CHECKING:  # the science modules pull in numpy/scipy: imported inside the functions
    import datetime as dt

    from cadenza.io.library_files import ScanReport
    from cadenza.music.analysis import TrackAnalysis
    from cadenza.music.playlists import CurrentState, Playlist
    from cadenza.music.reminiscence import SongResponse
    from cadenza.safety.calibration import Calibration
    from cadenza.safety.playlist import PlaylistDose

STORE_BATCH = 25  # scanned files stored per batch (the command commits after each one)


# --- one file, and a client's music ----------------------------------------------------------------


@dataclass(frozen=True)
class FileAnalysis:
    """One file's tags (None when unreadable), analysis and what went wrong on the way."""

    path: str
    tags: dict[str, Any] | None
    analysis: TrackAnalysis
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "tags": self.tags, "analysis": self.analysis.to_dict(),
                "warnings": list(self.warnings)}


def analyse_file(path: str | Path) -> FileAnalysis:
    """Tempo and beat times, loudness (LUFS, LRA), energy, brightness, key and mode of one audio file.

    Unreadable tags and a file that breaks off part-way are warnings (the readable part is analysed); a
    file that cannot be decoded at all raises the domain error naming it.
    """
    from dataclasses import asdict

    from cadenza.io.library_files import PartialDecode, decode_audio
    from cadenza.io.tags import read_tags
    from cadenza.music.analysis import analyze_track

    warnings: list[str] = []
    try:
        tags = asdict(read_tags(path))
    except Exception as exc:  # noqa: BLE001 - tags are optional for an analysis
        tags = None
        warnings.append(f"tags unreadable: {exc}")
    try:
        audio = decode_audio(path)
    except PartialDecode as partial:
        audio = partial.audio
        warnings.append(f"file broke off after {audio.duration_s:.1f} s; analysed the readable part")
    analysis = analyze_track(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
    return FileAnalysis(str(path), tags, analysis, tuple(warnings))


@dataclass(frozen=True)
class LibraryScan:
    """A scan of a client's music (``report``: every file, its status and problems) and what was stored."""

    report: ScanReport
    added: int
    updated: int
    reused: int  # moved or copied files whose analysis was kept
    failed: int


def scan_client_library(
    db: Session, *, actor: Therapist, client_id: int, dirs: Iterable[str | Path], processes: int | None = None,
    on_progress: Callable[[int, int, str], None] | None = None, on_stored: Callable[[], None] | None = None,
    batch_size: int = STORE_BATCH,
) -> LibraryScan:
    """Scan the client's music into the record: tags, content hash and analysis of new or changed files.

    Only new or changed files are decoded; moved files keep their analysis and the person's preferences.
    Scanned files are stored in batches of ``batch_size``, and ``on_stored`` is called after each batch
    (the command commits there, so an interrupted scan keeps what it finished).
    """
    from cadenza.io.library_files import ScanReport, find_audio_files, scan_library

    known = records.known_tracks(db, actor=actor, client_id=client_id)
    dirs = list(dirs)
    all_paths = {str(p) for p in find_audio_files(dirs)}
    pending: list[Any] = []
    stored = dict.fromkeys(("added", "updated", "reused", "failed"), 0)

    def store() -> None:
        if pending:
            summary = records.store_scan(db, actor=actor, client_id=client_id, report=ScanReport(tracks=list(pending)),
                                         all_paths=all_paths)
            if on_stored is not None:
                on_stored()
            for key in stored:
                stored[key] += getattr(summary, key)
            pending.clear()

    def on_track(track: Any) -> None:
        pending.append(track)
        if len(pending) >= batch_size:
            store()

    report = scan_library(dirs, known=known, processes=processes, on_progress=on_progress, on_track=on_track)
    store()
    return LibraryScan(report, **stored)


# --- playlists -------------------------------------------------------------------------------------


def _state(arousal_0_10: float | None, heart_rate_bpm: float | None) -> CurrentState | None:
    """Where the person is now (the iso principle starts there); None when nothing was measured."""
    from cadenza.music.playlists import CurrentState

    if arousal_0_10 is None and heart_rate_bpm is None:
        return None
    return CurrentState(arousal_0_10=arousal_0_10, heart_rate_bpm=heart_rate_bpm)


def client_playlist(db: Session, *, client: Client, goal: str, minutes: float, arousal_0_10: float | None = None,
                    heart_rate_bpm: float | None = None, shape: str | None = None,
                    cadence_spm: float | None = None) -> Playlist:
    """A goal playlist from ``client``'s own analysed library (``client`` already authorised by the face).

    The person's ratings, family picks and response log rank the tracks; red-flag songs are left out.
    ``goal="reminiscence"`` builds a reminiscence playlist around the client's birth year.
    """
    from cadenza.music.playlists import build_playlist
    from cadenza.music.reminiscence import build_reminiscence_playlist, reminiscence_bonuses

    tracks = records.client_tracks(db, client=client)
    usable = [t for t in tracks if t.analysis_version is not None and t.duration_s]
    excluded = {str(t.id) for t in tracks if t.red_flag}
    ratings = {str(t.id): t.rating for t in tracks if t.rating is not None}
    responses = records.client_responses(db, client=client)
    features = [t.features() for t in usable]
    if goal == "reminiscence":
        return build_reminiscence_playlist(
            features, minutes=minutes, birth_year=client.birth_year, ratings=ratings,
            family_picks={str(t.id): t.family_pick_note for t in tracks if t.family_pick_note},
            red_flags=excluded, responses=responses)
    bonuses = reminiscence_bonuses(features, birth_year=None,
                                   family_picks=[str(t.id) for t in tracks if t.family_pick_note],
                                   responses=responses)
    return build_playlist(features, goal=goal, minutes=minutes, state=_state(arousal_0_10, heart_rate_bpm),
                          shape=shape, ratings=ratings, bonuses=bonuses, excluded=excluded, cadence_spm=cadence_spm)


def folder_playlist(dirs: Iterable[str | Path], *, goal: str, minutes: float, arousal_0_10: float | None = None,
                    heart_rate_bpm: float | None = None, shape: str | None = None, cadence_spm: float | None = None,
                    processes: int | None = None) -> Playlist:
    """A goal playlist from the music in ``dirs``, scanned now and kept nowhere (no record, no preferences)."""
    from cadenza.io.library_files import scan_library
    from cadenza.music.playlists import TrackFeatures, build_playlist
    from cadenza.music.reminiscence import build_reminiscence_playlist

    report = scan_library(list(dirs), processes=processes)
    tracks = []
    for t in report.tracks:
        if t.analysis is None:
            continue
        a, tags = t.analysis, t.tags
        tracks.append(TrackFeatures(track_id=t.path, duration_s=a.duration_s, tempo_bpm=a.tempo_bpm, energy=a.energy,
                                    loudness_lufs=a.integrated_loudness_lufs, loudness_range_lu=a.loudness_range_lu,
                                    title=tags.title if tags else "", artist=tags.artist if tags else "",
                                    year=tags.year if tags else None, path=t.path))
    if goal == "reminiscence":
        return build_reminiscence_playlist(tracks, minutes=minutes, birth_year=None)
    return build_playlist(tracks, goal=goal, minutes=minutes, state=_state(arousal_0_10, heart_rate_bpm), shape=shape,
                          cadence_spm=cadence_spm)


def playlist_dose(playlist: Playlist, *, safety_flags: Sequence[str] = (),
                  calibration: Calibration | None = None) -> PlaylistDose:
    """Level and dose of a playlist (:func:`cadenza.safety.playlist.playlist_dose` over its tracks): each
    track's level is estimated from its integrated loudness with ``calibration`` (default: the
    conservative uncalibrated default)."""
    from cadenza.safety.playlist import playlist_dose as dose_of_tracks

    return dose_of_tracks([e.track.loudness_lufs for e in playlist.entries],
                          [e.track.duration_s for e in playlist.entries],
                          safety_flags=safety_flags, calibration=calibration)


def client_playlist_dose(db: Session, *, client: Client, playlist: Playlist,
                         now: dt.datetime | None = None) -> PlaylistDose:
    """:func:`playlist_dose` with ``client``'s own calibration and safety flags (``client`` already
    authorised by the face), plus what the playlist would bring the client's rolling weekly dose to."""
    calibration = listening.calibration_of(db, client=client)
    dose = playlist_dose(playlist, safety_flags=client.safety_flags or [], calibration=calibration)
    if not playlist.entries or not math.isfinite(dose.leq_dba):
        return dose
    week = listening.client_weekly_dose(db, client=client, now=now)
    preview = week.preview(level_dba=dose.leq_dba, duration_s=playlist.total_s)
    warnings = dose.warnings + ((preview.warning,) if preview.warning else ())
    return replace(dose, weekly_fraction_after=preview.fraction_after, warnings=warnings)


# --- walking cues from the person's music ------------------------------------------------------------


def track_music_cue(db: Session, *, client: Client, track_id: int, tempo_bpm: float, minutes: float,
                    click_overlay: bool = False, verify_s: float = 0.0) -> Any:
    """A RAS walking cue from one of ``client``'s own songs (``client`` already authorised by the face): the
    song stretched beat by beat to ``tempo_bpm`` with the steps on its beats *at the tempo in use*, so a
    therapist's halve/double/tap correction decides where the steps fall (no automatic change of level).
    Uses the stored beat times (no re-tracking) and the client's safety flags and calibration."""
    import numpy as np

    from cadenza.io.audio import load_audio
    from cadenza.ras.cue import render_music_cue

    track = records.client_track(db, client=client, track_id=track_id)
    if track.red_flag:
        raise ParameterError(f"track {track.id} ({track.display_name}) is red-flagged and never plays")
    beats = np.asarray(track.beat_times_used_s(), dtype=float)
    if beats.size < 4:
        raise ParameterError(f"track {track.id} ({track.display_name}) has {beats.size} stored beats; "
                             "at least 4 are needed for a music cue (rescan it, or choose a song with a clearer beat)")
    audio = load_audio(track.path)
    return render_music_cue(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, tempo_bpm=tempo_bpm,
                            duration_s=minutes * 60.0, source_beat_times_s=beats, click_overlay=click_overlay,
                            safety_flags=client.safety_flags or (), verify_s=verify_s,
                            calibration=listening.calibration_of(db, client=client))


# --- responses and pre-procedure sessions ------------------------------------------------------------


@dataclass(frozen=True)
class TrackResponse:
    """A response kept on a session, and whether to suggest a red flag for the song (a person decides)."""

    stored: records.LibraryResponse
    response: SongResponse
    suggest_red_flag: bool


def respond_to_track(
    db: Session, *, actor: Therapist, client_id: int, track_id: int, engagement_0_3: int, mood_minus2_plus2: int,
    agitation_0_3: int, sang_along: bool = False, session_id: int | None = None, note: str = "",
) -> TrackResponse:
    """Keep the person's response to one of the client's songs on a session (the one given, else the
    client's latest); it re-ranks future playlists.

    ParameterError for a rating out of range or a client without sessions; NotFoundError for a track or
    session that is not the client's.
    """
    from cadenza.music.reminiscence import SongResponse, suggested_red_flags

    response = SongResponse(str(track_id), engagement_0_3, mood_minus2_plus2, agitation_0_3, sang_along)
    stored = records.log_response(db, actor=actor, client_id=client_id, session_id=session_id, track_id=track_id,
                                  response=response, note=note)
    track = db.get(records.LibraryTrack, stored.track_id)
    return TrackResponse(stored, response, bool(suggested_red_flags([response])) and not track.red_flag)


@dataclass(frozen=True)
class PreprocedureReport:
    """A stored pre-procedure session and the playlist it played."""

    stored: records.PreprocedureSession
    playlist: Playlist


def record_preprocedure(
    db: Session, *, actor: Therapist, client_id: int, session_date: dt.date, minutes: float, vas_before_mm: float,
    vas_after_mm: float, stai_before: Sequence[int] | Mapping[str, int] | None = None,
    stai_after: Sequence[int] | Mapping[str, int] | None = None, arousal_0_10: float | None = None,
) -> PreprocedureReport:
    """A pre-procedure listening session: a relaxation playlist of about ``minutes`` (20-30) from the
    person's own music, stored on a new therapy session with the anxiety VAS (and STAI-6) before and after."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    playlist = client_playlist(db, client=client, goal="pre_procedure", minutes=minutes, arousal_0_10=arousal_0_10)
    stored = records.record_preprocedure_session(
        db, actor=actor, client_id=client.id, session_date=session_date, playlist=playlist,
        vas_before_mm=vas_before_mm, vas_after_mm=vas_after_mm, stai_before=stai_before, stai_after=stai_after)
    return PreprocedureReport(stored, playlist)


# --- music added in the browser ---------------------------------------------------------------------

UPLOAD_SUFFIXES = (".mp3", ".flac", ".ogg", ".oga", ".opus", ".wav")


def add_uploaded_track(db: Session, *, actor: Therapist, client: Client, data: bytes, filename: str,
                       music_dir: Path) -> Any:
    """Keep one uploaded music file in the client's private folder under ``music_dir`` and add it to their
    library. The file is checked from its header and then tagged and analysed in the resource-limited
    child process, as every upload is; a file that is not audio is refused and not kept. The same
    content uploaded twice is one file (named by its SHA-256)."""
    import hashlib

    from cadenza.clinic.db import ensure_private_dir
    from cadenza.io.isolated import check_audio_header, run_isolated
    from cadenza.io.library_files import ScanReport, analyze_file

    suffix = Path(filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ParameterError(f"file must be music as {', '.join(UPLOAD_SUFFIXES)}, got {str(filename)[:80]!r}")
    if not data:
        raise ParameterError(f"file {str(filename)[:80]!r} is empty")
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(music_dir) / f"client-{client.id}"
    ensure_private_dir(folder)
    dest = folder / f"{digest}{suffix}"
    new_file = not dest.exists()
    if new_file:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    try:
        check_audio_header(dest)
        track = run_isolated(analyze_file, str(dest), what=f"analysing {str(filename)[:80]!r}")
        if track.analysis is None:
            problems = "; ".join(p.reason for p in track.problems) or "no audio found"
            raise ParameterError(f"file {str(filename)[:80]!r} could not be read as music: {problems}")
    except CadenzaError as exc:
        if new_file:
            dest.unlink(missing_ok=True)
        if isinstance(exc, ParameterError) and str(filename)[:80] in str(exc):
            raise
        # Name the person's file, never the server's storage path.
        reason = str(exc).replace(str(dest), str(filename)[:80])
        raise ParameterError(f"file {str(filename)[:80]!r} could not be read as music: {reason}") from None
    except BaseException:
        if new_file:
            dest.unlink(missing_ok=True)
        raise
    if track.tags is not None and not track.tags.title:
        track = replace(track, tags=replace(track.tags, title=Path(filename).stem[:200]))
    records.store_scan(db, actor=actor, client_id=client.id, report=ScanReport(tracks=[track]))
    return track
