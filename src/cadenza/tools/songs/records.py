"""The songwriting tool's records: every saved version of a client's song, kept for good.

One table (migration ``0030_songs``), ``song_version``: a song is the rows sharing a ``song_key``, numbered
1, 2, 3 ...; saving never overwrites, and restoring an old version saves a new one that copies it (with
``restored_from_version`` set), so the history is never lost. A version holds what makes the song again:
the title, the lyric lines, the client's choices (key, mode, tempo, metre, chord progression and chords per
bar, theme; in the ``spec`` JSON, so 6/8 and several chords a bar needed no new column) and,
for a parody or fill-in-the-blank, the public-domain tune it is sung to. Each save is audited.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic.access import child_of
from cadenza.clinic.audit import audit
from cadenza.clinic.listening import refuse_nul
from cadenza.clinic.models import Base, Client, Therapist, utcnow
from cadenza.errors import NotFoundError, ParameterError

MAX_TITLE_CHARS = 120
MAX_LYRICS_CHARS = 40 * 201
MAX_TUNE_CHARS = 32
SPEC_KEYS = ("key", "mode", "tempo_bpm", "beats_per_bar", "progression", "theme")
OPTIONAL_SPEC_KEYS = ("beat_unit", "chords_per_bar")  # absent from versions saved before 6/8: x/4, one chord a bar


class SongVersion(Base):
    """One saved version of a client's song."""

    __tablename__ = "song_version"
    __table_args__ = (
        UniqueConstraint("song_key", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    song_key: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(MAX_TITLE_CHARS))
    tune: Mapped[str | None] = mapped_column(String(MAX_TUNE_CHARS), nullable=True)  # None: composed
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    lyrics: Mapped[str] = mapped_column(Text)  # the lines, one per line
    restored_from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def lines(self) -> list[str]:
        return self.lyrics.split("\n") if self.lyrics else []


def _check(title: object, lines: object, tune: object, spec: object) -> tuple[str, str, str | None, dict]:
    if not isinstance(title, str) or len(title.strip()) > MAX_TITLE_CHARS:
        raise ParameterError(f"title must be text of at most {MAX_TITLE_CHARS} characters, got {str(title)[:40]!r}")
    refuse_nul("title", title)
    if isinstance(lines, str) or not isinstance(lines, (list, tuple)) or not all(isinstance(x, str) for x in lines):
        raise ParameterError(f"lines must be a list of lyric lines, got {type(lines).__name__}")
    lyrics = "\n".join(x.strip().replace("\r", "") for x in lines)
    refuse_nul("lines", lyrics)
    if len(lyrics) > MAX_LYRICS_CHARS:
        raise ParameterError(f"lines must be at most {MAX_LYRICS_CHARS} characters together, got {len(lyrics)}")
    if tune is not None and (not isinstance(tune, str) or not 0 < len(tune) <= MAX_TUNE_CHARS):
        raise ParameterError(f"tune must be a tune name, got {tune!r}")
    if not isinstance(spec, dict) or not set(SPEC_KEYS) <= set(spec) <= set(SPEC_KEYS + OPTIONAL_SPEC_KEYS):
        raise ParameterError(f"spec must hold {SPEC_KEYS} and optionally {OPTIONAL_SPEC_KEYS}, got "
                             f"{sorted(spec) if isinstance(spec, dict) else spec!r}")
    return title.strip() or "Untitled song", lyrics, tune, dict(spec)


def save_version(db: Session, *, actor: Therapist, client: Client, title: str, lines: list[str], spec: dict,
                 tune: str | None = None, song_key: str | None = None,
                 restored_from_version: int | None = None) -> SongVersion:
    """Save a new version of ``client``'s song ``song_key`` (a new song when None). ``client`` is already
    authorised by the caller; the content is checked (the song itself by the actions) before anything is
    written. Flushes, never commits."""
    title, lyrics, tune, spec = _check(title, lines, tune, spec)
    if song_key is None:
        song_key, version = secrets.token_hex(8), 1
    else:
        latest = db.scalar(select(func.max(SongVersion.version)).where(SongVersion.song_key == song_key,
                                                                         SongVersion.client_id == client.id))
        if latest is None:
            raise NotFoundError(f"song {song_key[:40]!r} not found")
        version = latest + 1
    row = SongVersion(client_id=client.id, song_key=song_key, version=version, title=title, tune=tune, spec=spec,
                      lyrics=lyrics, restored_from_version=restored_from_version, created_by_id=actor.id)
    db.add(row)
    db.flush()
    audit(db, actor, "create", "song_version", entity_id=row.id, client_id=client.id)
    return row


def client_songs(db: Session, *, client: Client) -> list[SongVersion]:
    """The newest version of each of the client's songs, newest first."""
    newest = (select(SongVersion.song_key, func.max(SongVersion.version).label("v"))
              .where(SongVersion.client_id == client.id).group_by(SongVersion.song_key).subquery())
    rows = db.scalars(select(SongVersion).join(newest, (SongVersion.song_key == newest.c.song_key)
                                               & (SongVersion.version == newest.c.v))
                      .order_by(SongVersion.created_at.desc(), SongVersion.id.desc()))
    return list(rows)


def song_history(db: Session, *, client: Client, song_key: str) -> list[SongVersion]:
    """Every version of one song, newest first; :class:`NotFoundError` if the client has no such song."""
    rows = list(db.scalars(select(SongVersion).where(SongVersion.client_id == client.id,
                                                     SongVersion.song_key == song_key)
                           .order_by(SongVersion.version.desc())))
    if not rows:
        raise NotFoundError(f"song {str(song_key)[:40]!r} not found")
    return rows


def client_version(db: Session, *, client: Client, version_id: int) -> SongVersion:
    """One saved version of the client's (a version of another client is the same 404 as a missing one)."""
    return child_of(db, client, SongVersion, version_id, "song version")


def restore_version(db: Session, *, actor: Therapist, client: Client, version_id: int) -> SongVersion:
    """Save a copy of an old version as the song's newest version (the versions between are kept)."""
    old = client_version(db, client=client, version_id=version_id)
    return save_version(db, actor=actor, client=client, title=old.title, lines=old.lines, spec=dict(old.spec),
                        tune=old.tune, song_key=old.song_key, restored_from_version=old.version)
