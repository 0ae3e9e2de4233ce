"""Live cueing walks in the clinical record: one row per walk, its steps, beats and freezes, and outcomes.

A walk is started by a therapist (for one of their clients, optionally on a therapy session, whose
measurements then carry the walk's cadence, synchronisation and freeze count so progress charts and goals
see them) or by the person on their own device (``/me/live``; the client is the device's). Services flush
but never commit; creating and closing a walk are audited, the periodic saves of a running walk are not
(they only add samples' results to the row the audited start created).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import people, service
from cadenza.clinic.access import get_client_for_actor
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.models import Base, Measurement, Therapist, utcnow
from cadenza.clinic.people import PersonDevice
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError
from cadenza.gait.freezing import PLACEMENTS
from cadenza.ras.live import MAX_GOAL_INCREASE, LiveCueSession, goal_cadence_spm

LIVE_FREEZE_COUNT = register_instrument(Instrument(
    code="live_freeze_count", name="Freezing-of-gait episodes per live-cued walk (detections merged, >= 4 s)", unit="{episodes}", minimum=0,
    maximum=1000, better="decrease", source="cadenza.gait.freezing.FreezeStream during a live session"))
LIVE_TIME_FROZEN_S = register_instrument(Instrument(
    code="live_time_frozen_s", name="Time frozen during a live-cued walk", unit="s", minimum=0, maximum=86_400,
    better="decrease", source="cadenza.gait.freezing.FreezeStream during a live session"))
MIN_MUSIC_BEATS = 4
MAX_STORED_EVENTS = 200_000  # ~28 h of steps at 120/min: a walk longer than that is refused, not cut


class LiveCueWalk(Base):
    """One live-cued walk. Times are seconds from the walk's first sample (device clock)."""

    __tablename__ = "live_cue_walk"
    __table_args__ = (
        CheckConstraint("preferred_cadence_spm > 0", name="preferred_cadence_spm"),
        CheckConstraint("goal_cadence_spm >= preferred_cadence_spm", name="goal_cadence_spm"),
        CheckConstraint("placement IN ('shank', 'thigh', 'lower-back')", name="placement"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id", ondelete="SET NULL"), nullable=True)
    person_device_id: Mapped[int | None] = mapped_column(ForeignKey("person_device.id", ondelete="SET NULL"),
                                                         nullable=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id", ondelete="SET NULL"),
                                                   nullable=True)
    placement: Mapped[str] = mapped_column(String(20))
    preferred_cadence_spm: Mapped[float] = mapped_column(Float)
    goal_cadence_spm: Mapped[float] = mapped_column(Float)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=-1)  # the newest batch of samples taken in
    origin_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # device time of the first sample
    step_times_s: Mapped[list[float]] = mapped_column(JSON, default=list)
    beat_times_s: Mapped[list[float]] = mapped_column(JSON, default=list)
    freeze_intervals_s: Mapped[list[list[float]]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The running science (cadenza.ras.live_state), saved with last_seq so any server process carries the walk
    # on from here; cleared when the walk ends (migration 0026b_live_walk_state).
    live_state: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, default=None)
    # The client's library track whose music was the cue; None: clicks (migration 0026c_live_music).
    music_track_id: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)
    # The newest live socket's number: only that socket takes batches in and saves (migration 0041_live_lease).
    socket_lease: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


def latest_cadence_spm(db: Session, *, actor: Therapist, client_id: int) -> float | None:
    """The client's most recent ``cadence`` measurement (steps/min), or None: the walk's usual cadence."""
    rows = service.list_measurements(db, actor=actor, client_id=client_id, instrument_code="cadence")
    return float(rows[-1].value) if rows and rows[-1].value is not None else None


@dataclass(frozen=True)
class MusicTrack:
    """A library track that can be the live cue: its beats at the metrical level in use (the therapist's
    tempo correction applied), read through the record (the library tool's table)."""

    id: int
    title: str
    path: str
    tempo_bpm: float | None
    beat_times_s: list[float]
    analysis_version: int | None = None


def _track_row(db: Session, client_id: int, track_id: int) -> Any:
    table = Base.metadata.tables.get("library_track")
    if table is None:
        raise ParameterError("the music library is not installed, so a walk cannot be cued with a song")
    return db.execute(select(table).where(table.c.client_id == client_id, table.c.id == track_id)).mappings().first()


def _music(row: Any) -> MusicTrack:
    from cadenza.music.beats import beats_at_level

    corrected = row.get("tempo_corrected_bpm")
    used = corrected if corrected is not None else row["tempo_bpm"]
    beats = beats_at_level(row["beat_times_s"] or [], analysed_bpm=row["tempo_bpm"], used_bpm=used)
    title = row["title"] or row["path"].replace("\\", "/").rsplit("/", 1)[-1]
    return MusicTrack(int(row["id"]), f"{title} ({row['artist']})" if row["artist"] else title, row["path"],
                      None if used is None else float(used), [float(b) for b in beats],
                      None if row.get("analysis_version") is None else int(row["analysis_version"]))


def music_track(db: Session, *, client_id: int, track_id: Any) -> MusicTrack:
    """The client's track ``track_id`` for a music cue (client already authorised by the caller).

    NotFoundError for a track of another client or none; ParameterError for one that may not or cannot
    be the cue (red-flagged, unreadable, fewer than 4 stored beats), naming the track and what to do."""
    if not isinstance(track_id, int) or isinstance(track_id, bool) or not 1 <= track_id < 2**31:
        raise ParameterError(f"music_track_id must be a track id (a whole number >= 1), got {track_id!r}")
    row = _track_row(db, client_id, track_id)
    if row is None:
        raise NotFoundError(f"music_track_id {track_id!r}: no such library track for this client")
    track = _music(row)
    if row["red_flag"]:
        raise ParameterError(f"music_track_id {track_id}: {track.title!r} is red-flagged and never plays")
    if row["problem"]:
        raise ParameterError(f"music_track_id {track_id}: {track.title!r} could not be analysed: {row['problem']}")
    if len(track.beat_times_s) < MIN_MUSIC_BEATS:
        raise ParameterError(f"music_track_id {track_id}: {track.title!r} has {len(track.beat_times_s)} stored beats; at least "
                             f"{MIN_MUSIC_BEATS} are needed for a music cue (rescan it in the library, choose a song "
                             "with a clearer beat, or use clicks)")
    return track


def music_choices(db: Session, *, client_id: int) -> list[MusicTrack]:
    """The client's tracks that can be the cue: analysed, with stored beats, never red-flagged (client already
    authorised by the caller)."""
    table = Base.metadata.tables.get("library_track")
    if table is None:
        return []
    rows = db.execute(select(table).where(table.c.client_id == client_id, table.c.red_flag.is_(False),
                                          table.c.problem == "").order_by(table.c.title, table.c.id)).mappings()
    return [t for t in map(_music, rows) if len(t.beat_times_s) >= MIN_MUSIC_BEATS]


def _check_setup(preferred_cadence_spm: Any, increase_percent: Any, placement: Any) -> float:
    if placement not in PLACEMENTS:
        raise ParameterError(f"placement must be one of {PLACEMENTS!r}, got {placement!r}")
    try:
        preferred, increase = float(preferred_cadence_spm), float(increase_percent)
    except (TypeError, ValueError):
        raise ParameterError(f"preferred_cadence_spm and increase_percent must be numbers, got "
                             f"{preferred_cadence_spm!r} and {increase_percent!r}") from None
    if not np.isfinite(increase) or not 0 <= increase <= 100 * MAX_GOAL_INCREASE:
        raise ParameterError(f"increase_percent must be within 0-{100 * MAX_GOAL_INCREASE:g} %, got {increase_percent!r}")
    return goal_cadence_spm(preferred, increase_fraction=increase / 100)


def start_walk_for_therapist(db: Session, *, actor: Therapist, client_id: int, preferred_cadence_spm: float,
                             increase_percent: float, placement: str = "lower-back",
                             session_id: int | None = None, music_track_id: int | None = None) -> LiveCueWalk:
    """A new walk for one of the therapist's clients (on one of its sessions if ``session_id``; cued with the
    client's library track ``music_track_id`` if given, else clicks)."""
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="create")
    goal = _check_setup(preferred_cadence_spm, increase_percent, placement)
    if music_track_id is not None:
        music_track(db, client_id=client.id, track_id=music_track_id)
    if session_id is not None:
        session_row = service.get_session(db, actor=actor, session_id=session_id)
        if session_row.client_id != client.id:
            raise NotFoundError(f"session {session_id!r} not found for client {client_id!r}")
    row = LiveCueWalk(client_id=client.id, therapist_id=actor.id, session_id=session_id, placement=placement,
                      preferred_cadence_spm=float(preferred_cadence_spm), goal_cadence_spm=goal,
                      music_track_id=music_track_id,
                      started_at=utcnow(), step_times_s=[], beat_times_s=[], freeze_intervals_s=[], summary={})
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "live_cue_walk", entity_id=row.id, client_id=client.id)
    return row


def start_walk_for_device(db: Session, *, device: PersonDevice, preferred_cadence_spm: float,
                          increase_percent: float, placement: str = "thigh",
                          music_track_id: int | None = None) -> LiveCueWalk:
    """A new walk the person starts on their own device (the client is the device's)."""
    client = people.client_of_device(db, device)
    goal = _check_setup(preferred_cadence_spm, increase_percent, placement)
    if music_track_id is not None:
        music_track(db, client_id=client.id, track_id=music_track_id)
    row = LiveCueWalk(client_id=client.id, person_device_id=device.id, placement=placement,
                      preferred_cadence_spm=float(preferred_cadence_spm), goal_cadence_spm=goal,
                      music_track_id=music_track_id,
                      started_at=utcnow(), step_times_s=[], beat_times_s=[], freeze_intervals_s=[], summary={})
    db.add(row)
    db.flush()
    people.audit_device(db, device, "create", "live_cue_walk", entity_id=row.id)
    return row


def walk_for_therapist(db: Session, *, actor: Therapist, walk_id: int, action: str = "read") -> LiveCueWalk:
    """A walk of one of the therapist's clients (NotFoundError otherwise, also for unknown ids)."""
    row = db.get(LiveCueWalk, walk_id)
    if row is None:
        raise NotFoundError(f"live walk {walk_id!r} not found")
    get_client_for_actor(db, actor=actor, client_id=row.client_id, action=action)
    return row


def walk_for_device(db: Session, *, device: PersonDevice, walk_id: int) -> LiveCueWalk:
    """A walk this device started (NotFoundError for any other)."""
    row = db.get(LiveCueWalk, walk_id)
    if row is None or row.person_device_id != device.id or row.client_id != device.client_id:
        raise NotFoundError(f"live walk {walk_id!r} not found")
    return row


def list_walks(db: Session, *, actor: Therapist, client_id: int) -> list[LiveCueWalk]:
    """The client's walks (the therapist's and the person's own), newest first."""
    client = get_client_for_actor(db, actor=actor, client_id=client_id)
    return list(db.scalars(select(LiveCueWalk).where(LiveCueWalk.client_id == client.id)
                           .order_by(LiveCueWalk.started_at.desc(), LiveCueWalk.id.desc())))


def list_device_walks(db: Session, *, device: PersonDevice, limit: int = 10) -> list[LiveCueWalk]:
    return list(db.scalars(select(LiveCueWalk).where(LiveCueWalk.person_device_id == device.id)
                           .order_by(LiveCueWalk.started_at.desc(), LiveCueWalk.id.desc()).limit(limit)))


def _relative(values: list[float], origin_s: float) -> list[float]:
    return [round(float(v) - origin_s, 4) for v in values]


def save_progress(db: Session, row: LiveCueWalk, live: LiveCueSession, *, last_seq: int) -> None:
    """Write what the running walk has found so far onto its row (no audit: the start was audited)."""
    if not row.is_open:
        raise ParameterError(f"live walk {row.id!r} has ended; start a new walk")
    from cadenza.ras.live_state import snapshot

    if live.started_at_s is None:
        row.last_seq = int(last_seq)
        row.live_state = snapshot(live)
        return
    if row.origin_s is None:
        row.origin_s = float(live.started_at_s)
    origin = float(row.origin_s)
    steps, beats = live.steps.step_times_s_, live.sent_beat_times_s
    if len(steps) + len(beats) > MAX_STORED_EVENTS:
        raise ParameterError(f"live walk {row.id!r} holds more than {MAX_STORED_EVENTS} events; end it and start another")
    # After a server restart the live state starts afresh: keep what the row holds from before it.
    fresh_from = float(live.started_at_s) - origin
    kept_steps = [t for t in row.step_times_s or [] if t < fresh_from]
    kept_beats = [t for t in row.beat_times_s or [] if t < fresh_from]
    kept_freezes = [f for f in row.freeze_intervals_s or [] if f[1] < fresh_from]
    row.step_times_s = kept_steps + _relative(steps, origin)
    row.beat_times_s = kept_beats + _relative(beats, origin)
    row.freeze_intervals_s = kept_freezes + [_relative(list(f), origin) for f in live.freeze_intervals_s()]
    row.summary = _plain(summarize_walk(row))
    row.last_seq = int(last_seq)
    row.live_state = snapshot(live)
    db.flush()


def claim_socket_lease(db: Session, walk_id: int) -> int:
    """The next socket number of the walk, now its owner's (the row is locked until the caller commits, so two
    sockets opening at once on two processes get two numbers). NotFoundError for an unknown walk."""
    row = db.get(LiveCueWalk, walk_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"live walk {walk_id!r} not found")
    row.socket_lease = int(row.socket_lease or 0) + 1
    db.flush()
    return row.socket_lease


def socket_lease(db: Session, walk_id: int) -> int | None:
    """The number of the socket that owns the walk now (None for an unknown walk)."""
    return db.scalar(select(LiveCueWalk.socket_lease).where(LiveCueWalk.id == walk_id))


def summarize_walk(row: LiveCueWalk) -> dict[str, Any]:
    """Steps, cadence, synchronisation to the sent beats and freezes, from the row's stored times."""
    from cadenza.gait.episodes import merge_freeze_episodes
    from cadenza.gait.freezing import summarize_freezes
    from cadenza.ras.sync import analyze_synchronization

    steps, beats = np.asarray(row.step_times_s or [], float), np.asarray(row.beat_times_s or [], float)
    out: dict[str, Any] = {"n_steps": int(steps.size), "n_beats": int(beats.size),
                           "cadence_spm": float(60 / np.median(np.diff(steps))) if steps.size >= 3 else None,
                           "goal_cadence_spm": row.goal_cadence_spm, "music_track_id": row.music_track_id}
    if steps.size >= 3 and beats.size >= 2:
        sync = analyze_synchronization(steps, beats).summary()
        out.update(resultant_length=sync["resultant_length"], mean_asynchrony_ms=sync["mean_asynchrony_ms"],
                   percent_within_window=sync["percent_within_window"], n_steps_in_cue=int(sync["n_steps_in_cue"]))
    detected = np.asarray(row.freeze_intervals_s or [], float).reshape(-1, 2)
    freezes = summarize_freezes(detected)
    # Episodes as outcomes: detections merged (gait/episodes.py); the time frozen sums every detection.
    out.update(freeze_count=int(merge_freeze_episodes(detected).shape[0]), freeze_detections=freezes["episode_count"],
               time_frozen_s=freezes["time_frozen_s"])
    return out


def close_walk(db: Session, row: LiveCueWalk, live: LiveCueSession | None, *, actor: Therapist | None = None,
               device: PersonDevice | None = None) -> list[Measurement]:
    """End the walk, keep its outcomes and, for a therapist's walk on a session, store them as measurements."""
    if not row.is_open:
        return []
    if live is not None:
        live.close()
        save_progress(db, row, live, last_seq=row.last_seq)
    row.summary = _plain(summarize_walk(row))
    row.ended_at = utcnow()
    row.live_state = None  # the walk is over: its results are on the row
    db.flush()
    if device is not None:
        people.audit_device(db, device, "update", "live_cue_walk", entity_id=row.id)
        return []
    if actor is None:
        raise ParameterError("close_walk needs the therapist (actor=) or the person's device (device=)")
    service.audit(db, actor, "update", "live_cue_walk", entity_id=row.id, client_id=row.client_id)
    if row.session_id is None:
        return []
    return store_walk_measurements(db, actor=actor, row=row)


def attach_walk_to_session(db: Session, *, actor: Therapist, walk_id: int, session_id: int) -> list[Measurement]:
    """Put an ended walk (e.g. one the person did on their own phone) on one of its client's sessions, and store
    its outcomes there. A walk already on a session is refused (its measurements are there)."""
    row = walk_for_therapist(db, actor=actor, walk_id=walk_id, action="update")
    if row.is_open:
        raise ParameterError(f"live walk {walk_id!r} is still running; end it first")
    if row.session_id is not None:
        raise ParameterError(f"live walk {walk_id!r} is already on session {row.session_id!r}")
    session_row = service.get_session(db, actor=actor, session_id=session_id)
    if session_row.client_id != row.client_id:
        raise NotFoundError(f"session {session_id!r} not found for this walk's client")
    row.session_id = session_row.id
    db.flush()
    service.audit(db, actor, "update", "live_cue_walk", entity_id=row.id, client_id=row.client_id)
    return store_walk_measurements(db, actor=actor, row=row)


def store_walk_measurements(db: Session, *, actor: Therapist, row: LiveCueWalk) -> list[Measurement]:
    """Cadence, synchronisation (R, with 8+ steps in the cue) and freezes of an ended walk on its session."""
    if row.session_id is None:
        raise ParameterError(f"live walk {row.id!r} is not on a therapy session; choose a session first")
    summary = row.summary or {}
    values: dict[str, float] = {}
    if summary.get("cadence_spm") is not None:
        values["cadence"] = round(float(summary["cadence_spm"]), 1)
    if summary.get("n_steps_in_cue", 0) >= 8 and np.isfinite(summary.get("resultant_length", np.nan)):
        values["ras_sync_r"] = round(float(summary["resultant_length"]), 3)
    values[LIVE_FREEZE_COUNT.code] = float(summary.get("freeze_count", 0))
    values[LIVE_TIME_FROZEN_S.code] = round(float(summary.get("time_frozen_s", 0.0)), 1)
    return [service.add_measurement(db, actor=actor, session_id=row.session_id,
                                    measurement=MeasurementInput(code, value=value))
            for code, value in values.items()]


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN to None."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
