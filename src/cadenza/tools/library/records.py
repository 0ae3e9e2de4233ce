"""The person's own music in the clinical record: the analysed track cache, ratings, red-flag songs,
family picks with notes, the per-song response log, and pre-procedure listening sessions.

Services follow ``docs/clinic_api.md``: session first, ``actor=`` keyword, flush but never commit,
one authorisation check (``get_client_for_actor``) that also audits. Each writer authorises the client
once (``action="update"``) and reaches the track and the session under it: a track or session of another
client is a NotFoundError, the same answer as a missing one (:func:`cadenza.clinic.access.child_of`).
A caller that has already authorised the client (a page) passes the loaded ``client`` to the readers
:func:`client_tracks`, :func:`client_track`, :func:`find_track`, :func:`client_responses` and
:func:`client_preprocedure_sessions`, which audit nothing more. Anxiety before and after a
pre-procedure session goes in as measurements (``vas_anxiety``, ``stai6``) on the therapy session, with
``measured_at`` telling before from after; the link row keeps which is which.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import service
from cadenza.clinic.access import child_of
from cadenza.clinic.models import Base, Client, Measurement, Therapist, TherapySession, utcnow
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError
from cadenza.io.library_files import KnownTrack, ScanReport
from cadenza.music.analysis import ANALYSIS_VERSION
from cadenza.music.beats import beats_at_level
from cadenza.music.tempo import AMBIGUOUS_LEVEL_CONFIDENCE, MAX_TEMPO_BPM, MIN_TEMPO_BPM
from cadenza.music.playlists import Playlist, TrackFeatures
from cadenza.music.reminiscence import SongResponse

PREPROCEDURE_MINUTES = (20, 30)  # issue 7: a 20-30 minute relaxation playlist
MAX_TEXT = 300
MAX_PICKED_BY_CHARS = 100  # family_pick_by is String(100)


class LibraryTrack(Base):
    """One audio file of a client's library: file fingerprint, tags, analysis and the person's
    own preferences (rating, red flag, family pick)."""

    __tablename__ = "library_track"
    __table_args__ = (
        UniqueConstraint("client_id", "path"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    artist: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    album: Mapped[str] = mapped_column(String(MAX_TEXT), default="")
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    genre: Mapped[str] = mapped_column(String(100), default="")
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    tempo_bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    tempo_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The estimator's competing metrical level (half or double) and how sure it is of its own (0-1).
    tempo_alternative_bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    tempo_level_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The therapist's correction (halve, double, tap, set): used everywhere in place of tempo_bpm.
    tempo_corrected_bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    tempo_correction: Mapped[str | None] = mapped_column(String(8), nullable=True)
    tempo_corrected_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    beat_times_s: Mapped[list[float]] = mapped_column(JSON, default=list)
    loudness_lufs: Mapped[float | None] = mapped_column(Float, nullable=True)
    loudness_range_lu: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy: Mapped[float | None] = mapped_column(Float, nullable=True)
    brightness_hz: Mapped[float | None] = mapped_column(Float, nullable=True)
    onset_rate_hz: Mapped[float | None] = mapped_column(Float, nullable=True)
    musical_key: Mapped[str] = mapped_column(String(3), default="")
    mode: Mapped[str] = mapped_column(String(8), default="")
    mode_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    analysis_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    problem: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    red_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    red_flag_reason: Mapped[str] = mapped_column(Text, default="")
    red_flag_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    family_pick_note: Mapped[str] = mapped_column(Text, default="")
    family_pick_by: Mapped[str] = mapped_column(String(100), default="")
    scanned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def display_name(self) -> str:
        if self.title:
            return f"{self.artist} - {self.title}" if self.artist else self.title
        return self.path.rsplit("/", 1)[-1]

    @property
    def tempo_used_bpm(self) -> float | None:
        """The tempo every consumer uses: the therapist's correction if there is one, else the analysed tempo."""
        return self.tempo_corrected_bpm if self.tempo_corrected_bpm is not None else self.tempo_bpm

    @property
    def tempo_ambiguous(self) -> bool:
        """The estimator was unsure of the metrical level (and no one has corrected it yet)."""
        return (self.tempo_corrected_bpm is None and self.tempo_level_confidence is not None
                and self.tempo_level_confidence < AMBIGUOUS_LEVEL_CONFIDENCE)

    @property
    def tempo_offer_bpm(self) -> float | None:
        """The competing level to offer as a one-click correction: the stored alternative when it is a usable
        tempo (30-300 BPM) and not already the tempo in use; None otherwise."""
        alt, used = self.tempo_alternative_bpm, self.tempo_used_bpm
        if alt is None or not math.isfinite(alt) or not MIN_TEMPO_BPM <= alt <= MAX_TEMPO_BPM:
            return None
        if used is not None and math.isfinite(used) and abs(alt - used) < 0.5:  # shown as the same whole BPM
            return None
        return alt

    def beat_times_used_s(self) -> list[float]:
        """The analysed beat times at the corrected metrical level (see :func:`beats_at_level`)."""
        return beats_at_level(self.beat_times_s or [], analysed_bpm=self.tempo_bpm, used_bpm=self.tempo_used_bpm)

    def features(self) -> TrackFeatures:
        nan = float("nan")
        return TrackFeatures(
            track_id=str(self.id), duration_s=self.duration_s or nan, tempo_bpm=self.tempo_used_bpm or nan,
            energy=nan if self.energy is None else self.energy,
            loudness_lufs=nan if self.loudness_lufs is None else self.loudness_lufs,
            loudness_range_lu=nan if self.loudness_range_lu is None else self.loudness_range_lu,
            title=self.title, artist=self.artist, year=self.year, path=self.path)


class LibraryResponse(Base):
    """One observed response to one song, stored on the therapy session where it was played."""

    __tablename__ = "library_response"
    __table_args__ = (
        CheckConstraint("engagement BETWEEN 0 AND 3", name="engagement"),
        CheckConstraint("mood BETWEEN -2 AND 2", name="mood"),
        CheckConstraint("agitation BETWEEN 0 AND 3", name="agitation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("library_track.id", ondelete="CASCADE"), index=True)
    engagement: Mapped[int] = mapped_column(Integer)
    mood: Mapped[int] = mapped_column(Integer)
    agitation: Mapped[int] = mapped_column(Integer)
    sang_along: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PreprocedureSession(Base):
    """A pre-procedure listening session: the playlist played and the anxiety measures around it."""

    __tablename__ = "library_preprocedure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id", ondelete="CASCADE"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    playlist: Mapped[dict[str, Any]] = mapped_column(JSON)
    vas_before_id: Mapped[int | None] = mapped_column(ForeignKey("measurement.id", ondelete="SET NULL"), nullable=True)
    vas_after_id: Mapped[int | None] = mapped_column(ForeignKey("measurement.id", ondelete="SET NULL"), nullable=True)
    stai_before_id: Mapped[int | None] = mapped_column(ForeignKey("measurement.id", ondelete="SET NULL"), nullable=True)
    stai_after_id: Mapped[int | None] = mapped_column(ForeignKey("measurement.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- scan cache ----------------------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def known_tracks(db: Session, *, actor: Therapist, client_id: int) -> dict[str, KnownTrack]:
    """What the cache holds for a client's library, keyed by path (input to ``scan_library``)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    rows = db.scalars(select(LibraryTrack).where(LibraryTrack.client_id == client.id))
    return {r.path: KnownTrack(r.path, r.size_bytes, r.mtime_ns, r.content_sha256, r.analysis_version) for r in rows}


@dataclass(frozen=True)
class StoreSummary:
    added: int
    updated: int
    reused: int
    unchanged: int
    failed: int


def store_scan(db: Session, *, actor: Therapist, client_id: int, report: ScanReport,
               all_paths: Iterable[str] | None = None) -> StoreSummary:
    """Store a scan: new and changed files get their tags and analysis, moved files keep their
    analysis *and* the person's preferences (rating, red flag, family pick), unchanged ones are left.

    ``report`` may be one batch of a scan; ``all_paths`` (every file the whole scan found) then
    tells a renamed file (old path gone) from a copy (old path still there)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    rows = {r.path: r for r in db.scalars(select(LibraryTrack).where(LibraryTrack.client_id == client.id))}
    by_hash: dict[str, LibraryTrack] = {}
    for r in rows.values():
        if r.analysis_version == ANALYSIS_VERSION:
            by_hash.setdefault(r.content_sha256, r)
    scanned_paths = set(all_paths) if all_paths is not None else {t.path for t in report.tracks}
    added = updated = reused = unchanged = failed = 0
    for t in report.tracks:
        if t.status == "unchanged":
            unchanged += 1
            continue
        if not t.content_sha256:  # unreadable, empty: nothing to cache
            failed += 1
            continue
        row = rows.get(t.path)
        if t.status == "moved":
            source = by_hash.get(t.content_sha256)
            if source is None:
                failed += 1
                continue
            if row is None and source.path not in scanned_paths:
                row = source  # a rename: the row follows the file, preferences included
                del rows[source.path]
                row.path = t.path
            elif row is None:
                row = _copy_track(source, client.id, t.path)
                db.add(row)
            else:
                _copy_analysis(source, row)
            row.size_bytes, row.mtime_ns, row.content_sha256 = t.size_bytes, t.mtime_ns, t.content_sha256
            rows[t.path] = row
            reused += 1
            continue
        if row is None:
            row = LibraryTrack(client_id=client.id, path=t.path)
            db.add(row)
            rows[t.path] = row
            added += 1
        else:
            updated += 1
        if row.content_sha256 and row.content_sha256 != t.content_sha256:
            _forget_tempo_correction(row)  # other audio: the correction was about the old content
        row.size_bytes, row.mtime_ns, row.content_sha256 = t.size_bytes, t.mtime_ns, t.content_sha256
        if t.tags is not None:
            row.title, row.artist, row.album = t.tags.title[:MAX_TEXT], t.tags.artist[:MAX_TEXT], t.tags.album[:MAX_TEXT]
            row.year, row.genre = t.tags.year, t.tags.genre[:100]
            row.duration_s = t.tags.duration_s
        a = t.analysis
        if a is not None:
            row.duration_s = a.duration_s
            row.tempo_bpm, row.tempo_confidence = _finite(a.tempo_bpm), _finite(a.tempo_confidence)
            row.tempo_alternative_bpm = _finite(a.tempo_alternative_bpm)
            row.tempo_level_confidence = _finite(a.tempo_level_confidence)
            row.beat_times_s = [round(float(x), 4) for x in a.beat_times_s]
            row.loudness_lufs, row.loudness_range_lu = _finite(a.integrated_loudness_lufs), _finite(a.loudness_range_lu)
            row.energy, row.brightness_hz = _finite(a.energy), _finite(a.brightness_hz)
            row.onset_rate_hz = _finite(a.onset_rate_hz)
            row.musical_key, row.mode, row.mode_confidence = a.key, a.mode, _finite(a.mode_confidence)
            row.analysis_version = a.analysis_version
        else:  # not analysable now: forget any analysis of the file's earlier content
            for name in ("tempo_bpm", "tempo_confidence", "tempo_alternative_bpm", "tempo_level_confidence",
                         "loudness_lufs", "loudness_range_lu", "energy",
                         "brightness_hz", "onset_rate_hz", "mode_confidence", "analysis_version"):
                setattr(row, name, None)
            row.beat_times_s, row.musical_key, row.mode = [], "", ""
        row.problem = "; ".join(p.reason for p in t.problems)[:2000]
        row.scanned_at = utcnow()
        if t.content_sha256 and row.analysis_version == ANALYSIS_VERSION:
            by_hash.setdefault(t.content_sha256, row)
    db.flush()
    service.audit(db, actor, "update", "library_track", client_id=client.id)
    return StoreSummary(added, updated, reused, unchanged, failed)


_ANALYSIS_FIELDS = ("title", "artist", "album", "year", "genre", "duration_s", "tempo_bpm", "tempo_confidence",
                    "tempo_alternative_bpm", "tempo_level_confidence", "tempo_corrected_bpm", "tempo_correction",
                    "tempo_corrected_at", "beat_times_s", "loudness_lufs", "loudness_range_lu", "energy", "brightness_hz", "onset_rate_hz",
                    "musical_key", "mode", "mode_confidence", "analysis_version", "problem")


def _forget_tempo_correction(row: LibraryTrack) -> None:
    row.tempo_corrected_bpm = row.tempo_correction = row.tempo_corrected_at = None


def _copy_analysis(source: LibraryTrack, target: LibraryTrack) -> None:
    for name in _ANALYSIS_FIELDS:
        setattr(target, name, getattr(source, name))


def _copy_track(source: LibraryTrack, client_id: int, path: str) -> LibraryTrack:
    row = LibraryTrack(client_id=client_id, path=path, size_bytes=source.size_bytes, mtime_ns=source.mtime_ns,
                       content_sha256=source.content_sha256)
    _copy_analysis(source, row)
    return row


def client_tracks(db: Session, *, client: Client) -> list[LibraryTrack]:
    """The tracks of ``client``, already authorised by the caller, by artist, title and path; no audit
    row of its own."""
    return list(db.scalars(select(LibraryTrack).where(LibraryTrack.client_id == client.id)
                           .order_by(LibraryTrack.artist, LibraryTrack.title, LibraryTrack.path)))


def list_tracks(db: Session, *, actor: Therapist, client_id: int) -> list[LibraryTrack]:
    return client_tracks(db, client=service.get_client_for_actor(db, actor=actor, client_id=client_id))


def client_track(db: Session, *, client: Client, track_id: int) -> LibraryTrack:
    """A track of ``client`` (already authorised by the caller); NotFoundError for another client's track
    as for a missing one."""
    return child_of(db, client, LibraryTrack, track_id, "library track")


def find_track(db: Session, *, client: Client, query: str) -> LibraryTrack:
    """A track of ``client`` (already authorised by the caller) by id, exact path, or a unique
    case-insensitive match in "artist - title"."""
    tracks = client_tracks(db, client=client)
    if query.isdigit():
        for t in tracks:
            if t.id == int(query):
                return t
    exact = [t for t in tracks if t.path == query]
    if exact:
        return exact[0]
    q = query.casefold()
    hits = [t for t in tracks if q in t.display_name.casefold()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise NotFoundError(f"no track in this client's library matches {query!r}")
    raise ParameterError(f"{len(hits)} tracks match {query!r}; use the track id: "
                         + ", ".join(f"{t.id} ({t.display_name})" for t in hits[:5]))


def _writable_track(db: Session, actor: Therapist, client_id: int, track_id: int) -> LibraryTrack:
    """The one authorisation of a writer: the client for update, then its track (404 if not its own)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    return client_track(db, client=client, track_id=track_id)


# --- preferences ---------------------------------------------------------------------------------


def rate_track(db: Session, *, actor: Therapist, client_id: int, track_id: int, stars: int | None) -> LibraryTrack:
    """The person's own rating, 1-5 stars (0 or None clears it)."""
    if stars is not None and (not isinstance(stars, int) or not 0 <= stars <= 5):
        raise ParameterError(f"stars must be 1-5 (0 or None to clear), got {stars!r}")
    row = _writable_track(db, actor, client_id, track_id)
    row.rating = stars or None
    db.flush()
    service.audit(db, actor, "update", "library_track", entity_id=row.id, client_id=row.client_id)
    return row


def flag_red(db: Session, *, actor: Therapist, client_id: int, track_id: int, reason: str,
             flagged: bool = True) -> LibraryTrack:
    """Mark a song that upset the person; no playlist for this client will include it again.
    ``flagged=False`` clears the flag."""
    if flagged and (not isinstance(reason, str) or not reason.strip()):
        raise ParameterError("reason must say what happened (e.g. 'cried and asked to stop'), got an empty reason")
    row = _writable_track(db, actor, client_id, track_id)
    row.red_flag = flagged
    row.red_flag_reason = reason.strip() if flagged else ""
    row.red_flag_at = utcnow() if flagged else None
    db.flush()
    service.audit(db, actor, "update", "library_track", entity_id=row.id, client_id=row.client_id)
    return row


def add_family_pick(db: Session, *, actor: Therapist, client_id: int, track_id: int, note: str,
                    picked_by: str = "") -> LibraryTrack:
    """A song family or friends chose, with a note on why it matters to the person."""
    if not isinstance(note, str) or not note.strip():
        raise ParameterError("note must say why the song matters, got an empty note")
    picked_by = (picked_by or "").strip()
    if len(picked_by) > MAX_PICKED_BY_CHARS:
        raise ParameterError(f"by must be at most {MAX_PICKED_BY_CHARS} characters (who chose the song), "
                             f"got {len(picked_by)}")
    row = _writable_track(db, actor, client_id, track_id)
    row.family_pick_note = note.strip()
    row.family_pick_by = picked_by
    db.flush()
    service.audit(db, actor, "update", "library_track", entity_id=row.id, client_id=row.client_id)
    return row


def log_response(db: Session, *, actor: Therapist, client_id: int, session_id: int | None, track_id: int,
                 response: SongResponse, note: str = "") -> LibraryResponse:
    """Store an observed response to a song on the therapy session where it was played (``session_id``
    None: the client's latest session). The track and the session must both be the client's
    (NotFoundError otherwise); a client without sessions has nowhere to keep it (ParameterError)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    track = client_track(db, client=client, track_id=track_id)
    if session_id is not None:
        session_row = child_of(db, client, TherapySession, session_id, "session")
    else:
        sessions = service.client_sessions(db, client=client, held_only=True)
        if not sessions:
            raise ParameterError("session_id: record a session first; responses are stored on a session")
        session_row = sessions[-1]
    row = LibraryResponse(session_id=session_row.id, client_id=client.id, track_id=track.id,
                          engagement=response.engagement_0_3, mood=response.mood_minus2_plus2,
                          agitation=response.agitation_0_3, sang_along=response.sang_along, note=note)
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "library_response", entity_id=row.id, client_id=row.client_id)
    return row


def client_responses(db: Session, *, client: Client) -> list[SongResponse]:
    """The response log of ``client`` (already authorised by the caller), oldest first."""
    rows = db.scalars(select(LibraryResponse).where(LibraryResponse.client_id == client.id)
                      .order_by(LibraryResponse.recorded_at, LibraryResponse.id))
    return [SongResponse(str(r.track_id), r.engagement, r.mood, r.agitation, r.sang_along) for r in rows]


def list_responses(db: Session, *, actor: Therapist, client_id: int) -> list[SongResponse]:
    return client_responses(db, client=service.get_client_for_actor(db, actor=actor, client_id=client_id))


# --- tempo correction ----------------------------------------------------------------------------

TEMPO_CORRECTIONS = ("halve", "double", "tap", "set", "level")
TEMPO_ENTITY = "library_track"
LEVEL_MATCH_BPM = 0.01  # the offered tempo travels with two decimals: a posted "level" must match it this closely


def _check_bpm(tempo_bpm: Any, name: str = "tempo_bpm") -> float:
    if isinstance(tempo_bpm, bool) or not isinstance(tempo_bpm, int | float) or not math.isfinite(tempo_bpm) \
            or not MIN_TEMPO_BPM <= tempo_bpm <= MAX_TEMPO_BPM:
        raise ParameterError(f"{name} must be a tempo from {MIN_TEMPO_BPM:g} to {MAX_TEMPO_BPM:g} beats per minute, "
                             f"got {tempo_bpm!r}" + (" (a beat period in seconds? BPM = 60 / period)"
                                                      if isinstance(tempo_bpm, int | float) and 0 < tempo_bpm < 5 else ""))
    return float(tempo_bpm)


def _set_tempo(db: Session, actor: Therapist, row: LibraryTrack, *, corrected_bpm: float | None, how: str | None,
               action: str, reason: str) -> LibraryTrack:
    from cadenza.clinic.corrections import RecordChange

    before = [row.tempo_corrected_bpm, row.tempo_correction, row.tempo_used_bpm]
    row.tempo_corrected_bpm = None if corrected_bpm is None else round(corrected_bpm, 2)
    row.tempo_correction = how
    row.tempo_corrected_at = None if how is None else utcnow()
    changes = {"tempo_corrected_bpm": [before[0], row.tempo_corrected_bpm],
               "tempo_correction": [before[1], row.tempo_correction],
               "tempo_used_bpm": [before[2], row.tempo_used_bpm]}
    db.add(RecordChange(client_id=row.client_id, entity=TEMPO_ENTITY, entity_id=row.id, action=action,
                        reason=reason, changes_json=json.dumps(changes), actor_id=actor.id,
                        actor_username=actor.username, at=utcnow()))
    db.flush()
    service.audit(db, actor, "update", TEMPO_ENTITY, entity_id=row.id, client_id=row.client_id)
    return row


def correct_tempo(db: Session, *, actor: Therapist, client_id: int, track_id: int, how: str,
                  tempo_bpm: float | None = None, reason: str = "") -> LibraryTrack:
    """Correct a track's tempo: ``how="halve"`` or ``"double"`` the tempo in use (the other metrical level),
    ``"tap"``/``"set"`` it to ``tempo_bpm``, or take the estimator's competing level (``"level"``, with
    ``tempo_bpm`` the ``tempo_alternative_bpm`` the therapist was offered: a value that is not the track's
    stored alternative, because it was forged or the track was rescanned since, is refused). The correction is
    used by every consumer (playlists and their iso-principle steps, RAS music cues, the person's app), survives
    rescans of the same audio and is kept in the record's history with the tempo it replaced
    (:func:`restore_tempo` brings any back)."""
    from cadenza.clinic.corrections import check_reason

    if how not in TEMPO_CORRECTIONS:
        raise ParameterError(f"how must be one of {', '.join(TEMPO_CORRECTIONS)}, got {how!r}")
    if how in ("tap", "set", "level"):
        new_bpm = _check_bpm(tempo_bpm)
    elif tempo_bpm is not None:
        raise ParameterError(f"tempo_bpm goes with how='tap', 'set' or 'level', not with {how!r} (got {tempo_bpm!r})")
    reason = check_reason(reason, required=False)
    row = _writable_track(db, actor, client_id, track_id)
    if how == "level":
        offered = row.tempo_alternative_bpm
        if offered is None or not math.isfinite(offered):
            raise ParameterError(f"tempo_bpm {tempo_bpm!r}: track {row.id} has no competing tempo to take; "
                                 "tap or set the tempo instead")
        if abs(new_bpm - offered) > LEVEL_MATCH_BPM:
            raise ParameterError(f"tempo_bpm {tempo_bpm!r} is not the competing tempo of track {row.id} "
                                 f"({offered:.2f} BPM now; the track may have been rescanned): reload the page "
                                 "and choose again")
        new_bpm = float(offered)
    if how in ("halve", "double"):
        current = row.tempo_used_bpm
        if current is None or not math.isfinite(current):
            raise ParameterError(f"how={how!r}: track {row.id} has no tempo to {how}; tap or set it instead")
        new_bpm = _check_bpm(current / 2 if how == "halve" else current * 2,
                             name=f"the {'halved' if how == 'halve' else 'doubled'} tempo")
    return _set_tempo(db, actor, row, corrected_bpm=new_bpm, how=how, action="amend", reason=reason)


def restore_tempo(db: Session, *, actor: Therapist, client_id: int, track_id: int, change_id: int | None = None,
                  reason: str = "") -> LibraryTrack:
    """Undo tempo corrections: back to the analysed tempo (``change_id`` None), or to the tempo in use
    before the correction ``change_id`` of this track's history."""
    from cadenza.clinic.corrections import RecordChange, check_reason

    reason = check_reason(reason, required=False)
    row = _writable_track(db, actor, client_id, track_id)
    if change_id is None:
        return _set_tempo(db, actor, row, corrected_bpm=None, how=None, action="restore", reason=reason)
    change = db.get(RecordChange, change_id) if isinstance(change_id, int) and not isinstance(change_id, bool) else None
    if change is None or change.entity != TEMPO_ENTITY or change.entity_id != row.id or \
            "tempo_corrected_bpm" not in change.changes:
        raise NotFoundError(f"change_id {change_id!r}: no tempo correction of track {row.id} has that id")
    old_bpm, old_how = change.changes["tempo_corrected_bpm"][0], change.changes["tempo_correction"][0]
    return _set_tempo(db, actor, row, corrected_bpm=old_bpm, how=old_how, action="restore", reason=reason)


def tempo_history(db: Session, *, client: Client, track_id: int) -> list[Any]:
    """The tempo corrections of one of ``client``'s tracks (already authorised by the caller), oldest first."""
    from cadenza.clinic.corrections import history

    track = client_track(db, client=client, track_id=track_id)
    return [c for c in history(db, client=client, entity=TEMPO_ENTITY, entity_id=track.id)
            if "tempo_corrected_bpm" in c.changes]


# --- playlists ---------------------------------------------------------------------------------


def playlist_summary(playlist: Playlist) -> dict[str, Any]:
    """JSON-ready description of a playlist (stored with pre-procedure sessions)."""
    return {
        "goal": playlist.goal, "shape": playlist.shape, "target_s": playlist.target_s, "total_s": playlist.total_s,
        "tracks": [{"track_id": e.track.track_id, "title": e.track.title, "artist": e.track.artist,
                    "start_s": round(e.start_s, 1), "duration_s": round(e.track.duration_s, 1),
                    "tempo_bpm": _finite(e.track.tempo_bpm), "energy": _finite(e.track.energy), "phase": e.phase}
                   for e in playlist.entries],
        "warnings": list(playlist.warnings),
    }


# --- pre-procedure sessions ----------------------------------------------------------------------


def record_preprocedure_session(
    db: Session, *, actor: Therapist, client_id: int, session_date: dt.date, playlist: Playlist,
    vas_before_mm: float, vas_after_mm: float, stai_before: Sequence[int] | Mapping[str, int] | None = None,
    stai_after: Sequence[int] | Mapping[str, int] | None = None, started_at: dt.datetime | None = None,
    note: str = "",
) -> PreprocedureSession:
    """Store a 20-30 min pre-procedure listening session with VAS (and STAI-6) before and after.

    A shorter session (the person's library ran out) is still stored, since the anxiety was measured
    (walk-through problem 8), with a warning kept on the playlist; a longer one, or one with no music, is
    refused."""
    minutes = playlist.total_s / 60.0
    if playlist.goal != "pre_procedure":
        raise ParameterError(f"playlist must be built for goal 'pre_procedure', got {playlist.goal!r}")
    lo, hi = PREPROCEDURE_MINUTES
    if minutes <= 0 or minutes > hi + 5:
        raise ParameterError(f"a pre-procedure session lasts about {lo}-{hi} min; the playlist is {minutes:.1f} min")
    short_warning = None
    if minutes < lo - 5:
        short_warning = (f"the playlist lasted {minutes:.1f} min, shorter than the {lo}-{hi} min of the studies "
                         "behind pre-procedure listening: add more of the person's music for the next one")
    if (stai_before is None) != (stai_after is None):
        raise ParameterError("stai_before and stai_after go together: give both or neither")
    start = started_at or utcnow()
    if start.tzinfo is None:
        raise ParameterError(f"started_at must be timezone-aware (UTC), got {started_at!r}")
    end = start + dt.timedelta(seconds=playlist.total_s)
    measures = [MeasurementInput("vas_anxiety", value=vas_before_mm, measured_at=start),
                MeasurementInput("vas_anxiety", value=vas_after_mm, measured_at=end)]
    if stai_before is not None:
        measures += [MeasurementInput("stai6", items=stai_before, measured_at=start),
                     MeasurementInput("stai6", items=stai_after, measured_at=end)]
    session_row = service.record_session(
        db, actor=actor, client_id=client_id, session_date=session_date, minutes=max(1, round(minutes)),
        intervention_code="pre_procedure_listening", setting="pre-procedure",
        plan=note or f"{playlist.shape}-shaped relaxation playlist, {minutes:.0f} min")
    stored = [service.add_measurement(db, actor=actor, session_id=session_row.id, measurement=m) for m in measures]
    summary = playlist_summary(playlist)
    if short_warning:
        summary["warnings"].append(short_warning)
    row = PreprocedureSession(session_id=session_row.id, client_id=session_row.client_id,
                              playlist=summary, vas_before_id=stored[0].id, vas_after_id=stored[1].id,
                              stai_before_id=stored[2].id if len(stored) > 2 else None,
                              stai_after_id=stored[3].id if len(stored) > 2 else None)
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "library_preprocedure", entity_id=row.id, client_id=row.client_id)
    return row


@dataclass(frozen=True)
class AnxietyChange:
    session_id: int
    vas_before_mm: float
    vas_after_mm: float
    stai_before: float | None
    stai_after: float | None


def client_preprocedure_sessions(db: Session, *, client: Client) -> list[AnxietyChange]:
    """The pre-procedure sessions of ``client`` (already authorised by the caller), oldest first."""
    def value(measurement_id: int | None) -> float | None:
        m = db.get(Measurement, measurement_id) if measurement_id is not None else None
        return None if m is None else m.value

    rows = db.scalars(select(PreprocedureSession).where(PreprocedureSession.client_id == client.id)
                      .order_by(PreprocedureSession.created_at, PreprocedureSession.id))
    return [AnxietyChange(row.session_id, value(row.vas_before_id), value(row.vas_after_id),
                          value(row.stai_before_id), value(row.stai_after_id)) for row in rows]


def list_preprocedure_sessions(db: Session, *, actor: Therapist, client_id: int) -> list[AnxietyChange]:
    return client_preprocedure_sessions(db, client=service.get_client_for_actor(db, actor=actor, client_id=client_id))
