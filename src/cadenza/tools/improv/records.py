"""The improvisation tool's records: a take (its notes and figures) on a therapy session, and the
client's figures as measurements.

A take keeps every note (onset, duration, pitch, velocity, player) so the session page can draw its
timeline again, and the figures as analysed. Five of the figures become measurements on the session
through the clinic service (progress charts, goals and the FHIR export see them like any other
outcome); their codes are Cadenza-local, as no LOINC code exists for improvisation measures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import JSON, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import service
from cadenza.clinic.access import child_of
from cadenza.clinic.audit import audit
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.models import Base, Client, Measurement, Therapist, utcnow
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ParameterError

SOURCES = ("midi_file", "web_midi", "audio_files")
MAX_LABEL_CHARS = 120
SOURCE_NOTE = "cadenza.improv; after the Music Therapy Toolbox (Erkkila, Luck et al.)"

IMPROV_NOTE_DENSITY = register_instrument(Instrument(
    code="improv_note_density_per_s", name="Improvisation: client's note density", unit="/s", minimum=0,
    maximum=100, better=None, source=SOURCE_NOTE))
IMPROV_VELOCITY_MEAN = register_instrument(Instrument(
    code="improv_velocity_mean", name="Improvisation: client's mean MIDI velocity (loudness)", unit="1",
    minimum=1, maximum=127, better=None, source=SOURCE_NOTE))
IMPROV_PULSE_CLARITY = register_instrument(Instrument(
    code="improv_pulse_clarity", name="Improvisation: client's pulse clarity", unit="1", minimum=0, maximum=1,
    better=None, source=SOURCE_NOTE + "; Lartillot et al. 2008"))
IMPROV_SYNCHRONY_PCT = register_instrument(Instrument(
    code="improv_synchrony_pct", name="Improvisation: onsets played together (within +-50 ms)", unit="%",
    minimum=0, maximum=100, better=None, source=SOURCE_NOTE))
IMPROV_CLIENT_LAG_MS = register_instrument(Instrument(
    code="improv_client_lag_ms", name="Improvisation: client's lag behind the other player (negative = leads)",
    unit="ms", minimum=-1000, maximum=1000, better=None, source=SOURCE_NOTE))


class ImprovTake(Base):
    """One analysed improvisation: its notes, players and figures, on a session of the client."""

    __tablename__ = "improv_take"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    source: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(MAX_LABEL_CHARS), default="")
    client_player: Mapped[str] = mapped_column(String(60), default="")
    players: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[list[list[float]]] = mapped_column(JSON, default=list)  # [onset s, duration s, pitch, velocity, player]
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def client_measurements(features: dict, *, client_player: str) -> list[tuple[str, float]]:
    """The (instrument code, value) pairs a take stores; figures that are missing are left out."""
    mine = features["per_player"].get(client_player, {})
    duet = features.get("duet") or {}
    lag = duet.get("leader_lag_ms")
    if lag is not None and duet.get("a") == client_player:
        lag = -lag  # the figure is b after a; the measurement is the client after the other player
    values = [(IMPROV_NOTE_DENSITY.code, mine.get("note_density_per_s")),
              (IMPROV_VELOCITY_MEAN.code, mine.get("velocity_mean")),
              (IMPROV_PULSE_CLARITY.code, mine.get("pulse_clarity")),
              (IMPROV_SYNCHRONY_PCT.code, duet.get("synchrony_pct")),
              (IMPROV_CLIENT_LAG_MS.code, lag)]
    return [(code, round(float(v), 4)) for code, v in values if v is not None and np.isfinite(v)]


def store_take(db: Session, *, actor: Therapist, session_id: int, source: str, label: str, players: list[str],
               client_player: str, notes: list[list[float]], features: dict,
               measured_at: dt.datetime | None = None) -> tuple[ImprovTake, list[Measurement]]:
    """Store a take and the client's figures on the session (read with ``actor``'s rights). Flushes, never commits."""
    if source not in SOURCES:
        raise ParameterError(f"source must be one of {SOURCES!r}, got {source!r}")
    if client_player not in players:
        raise ParameterError(f"client_player must be one of the take's players {players!r}, got {client_player!r}")
    label = (label or "").strip()
    if len(label) > MAX_LABEL_CHARS:
        raise ParameterError(f"label must be at most {MAX_LABEL_CHARS} characters, got {len(label)}")
    session_row = service.get_session(db, actor=actor, session_id=session_id)
    stored = [service.add_measurement(db, actor=actor, session_id=session_id,
                                      measurement=MeasurementInput(code, value=value, measured_at=measured_at))
              for code, value in client_measurements(features, client_player=client_player)]
    take = ImprovTake(client_id=session_row.client_id, session_id=session_id, created_by_id=actor.id, source=source,
                      label=label, client_player=client_player, players=list(players), notes=notes, features=features)
    db.add(take)
    db.flush()
    audit(db, actor, "create", "improv_take", entity_id=take.id, client_id=take.client_id)
    return take, stored


def list_takes(db: Session, *, client_id: int, session_id: int | None = None) -> list[ImprovTake]:
    """The client's takes (the caller has authorised the client), newest first."""
    query = select(ImprovTake).where(ImprovTake.client_id == client_id)
    if session_id is not None:
        query = query.where(ImprovTake.session_id == session_id)
    return list(db.scalars(query.order_by(ImprovTake.id.desc())))


def get_take(db: Session, *, client: Client, take_id: int) -> ImprovTake:
    """One take of ``client`` (already authorised by the caller), else NotFoundError."""
    return child_of(db, client, ImprovTake, take_id, "improvisation take")
