"""The timing tool's records: a block's synchronisation figures as measurements on a session, the
latency calibration of each device, and the therapist's TIMP-style exercise prescriptions.

The mean asynchrony, its SD, the circular R and the share of hits within +-50 ms become measurements
through the clinic service, so progress charts, goals and the FHIR export see them like any other
outcome. Their codes are Cadenza-local (no LOINC code exists for tapping measures).

Two tables of its own (migration ``0025_timing_live``):

- ``timing_calibration``: a device's loopback latency (output + input, ms), the error left after
  calibration, the test signal's SNR and, once measured, the tap-to-sound offset of its touch screen
  or keyboard (:mod:`cadenza.timing.latency`). The newest row per client and device is the one used.
- ``timing_exercise``: a prescription (tempo, meter, accented beats, bilateral alternation, bars per
  block, blocks, beats of continuation after the cue stops), as in Therapeutic Instrumental Music
  Performance (TIMP; Thaut & Hoemberg 2014, *Handbook of Neurologic Music Therapy*, ch. 10).
"""

from __future__ import annotations

import datetime as dt

from typing import Any

import numpy as np
from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import service
from cadenza.clinic.access import child_of
from cadenza.clinic.audit import audit
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.listening import MAX_DEVICE_CHARS, refuse_nul
from cadenza.clinic.models import Base, Client, Measurement, Therapist, utcnow
from cadenza.clinic.people import PersonDevice, audit_device
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError
from cadenza.timing.metrics import BlockMetrics

TIMING_MEAN_ASYNCHRONY_MS = register_instrument(Instrument(
    code="timing_mean_asynchrony_ms", name="Tapping/drumming mean asynchrony to the cue (negative = ahead)",
    unit="ms", minimum=-1000, maximum=1000, better=None,
    source="cadenza.timing.metrics; Repp 2005 (Psychon Bull Rev 12:969)"))
TIMING_ASYNCHRONY_SD_MS = register_instrument(Instrument(
    code="timing_asynchrony_sd_ms", name="Tapping/drumming asynchrony SD (timing variability)", unit="ms",
    minimum=0, maximum=1000, better="decrease", source="cadenza.timing.metrics"))
TIMING_CIRCULAR_R = register_instrument(Instrument(
    code="timing_circular_r", name="Tapping/drumming synchronisation to the cue (circular R)", unit="1", minimum=0,
    maximum=1, better="increase", source="cadenza.timing.metrics; circular statistics of relative phase"))
TIMING_WITHIN_50MS_PCT = register_instrument(Instrument(
    code="timing_within_50ms_pct", name="Tapping/drumming hits within +-50 ms of the beat", unit="%", minimum=0,
    maximum=100, better="increase", source="cadenza.timing.metrics"))


def block_measurements(block: BlockMetrics) -> list[tuple[str, float]]:
    """The (instrument code, value) pairs a block stores; figures that are NaN are left out."""
    values = [(TIMING_MEAN_ASYNCHRONY_MS.code, round(block.mean_asynchrony_ms.value, 1)),
              (TIMING_ASYNCHRONY_SD_MS.code, round(block.sd_asynchrony_ms.value, 1)),
              (TIMING_CIRCULAR_R.code, round(block.circular_r.value, 4)),
              (TIMING_WITHIN_50MS_PCT.code, round(block.within_pct[50.0].value, 1)) if 50.0 in block.within_pct
              else (TIMING_WITHIN_50MS_PCT.code, float("nan"))]
    return [(code, value) for code, value in values if np.isfinite(value)]


def store_timing_block(db: Session, *, actor: Therapist, session_id: int, block: BlockMetrics,
                       measured_at: dt.datetime | None = None) -> list[Measurement]:
    """Store a block's figures on the session (the session is read with ``actor``'s rights).

    A block with fewer than 2 hits has no SD and little meaning: it is refused with a ParameterError
    before anything is stored. Flushes, never commits.
    """
    if block.n_hits < 2:
        raise ParameterError(f"the block has {block.n_hits} hit(s) on the cue; at least 2 are needed to store it")
    return [service.add_measurement(db, actor=actor, session_id=session_id,
                                    measurement=MeasurementInput(code, value=value, measured_at=measured_at))
            for code, value in block_measurements(block)]


# --- device calibration ------------------------------------------------------------------------------

MAX_LATENCY_MS = 5000.0  # a Bluetooth output adds up to about 650 ms; the loopback search covers 2 s
DEFAULT_DEVICE = "this device"


class TimingCalibration(Base):
    """A device's loopback latency and, once measured, its tap-to-sound offset."""

    __tablename__ = "timing_calibration"
    __table_args__ = (
        CheckConstraint(f"loopback_latency_ms BETWEEN 0 AND {MAX_LATENCY_MS!r}", name="latency_range"),
        CheckConstraint("residual_ms >= 0 AND residual_ms <= 1000", name="residual_range"),
        CheckConstraint("tap_offset_ms IS NULL OR tap_offset_ms BETWEEN -2000 AND 2000", name="tap_offset_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    device: Mapped[str] = mapped_column(String(MAX_DEVICE_CHARS))
    loopback_latency_ms: Mapped[float] = mapped_column(Float)
    residual_ms: Mapped[float] = mapped_column(Float)
    snr_db: Mapped[float] = mapped_column(Float)
    sampling_rate_hz: Mapped[float] = mapped_column(Float)
    tap_offset_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    tap_residual_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    measured_by: Mapped[str] = mapped_column(String(64))
    measured_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def check_device(device: Any) -> str:
    """A device label (the page names it, e.g. "clinic tablet"), or :class:`ParameterError`."""
    if not isinstance(device, str) or not device.strip():
        return DEFAULT_DEVICE
    refuse_nul("device", device)
    device = device.strip()
    if len(device) > MAX_DEVICE_CHARS:
        raise ParameterError(f"device must be at most {MAX_DEVICE_CHARS} characters, got {len(device)}")
    return device


def store_calibration(db: Session, *, client: Client, device: str, result: Any, sampling_rate_hz: float,
                      measured_by: str, actor: Therapist | None = None,
                      person_device: PersonDevice | None = None) -> TimingCalibration:
    """Store a loopback result (:class:`cadenza.timing.latency.LoopbackResult`) for ``client`` (already
    authorised by the caller) and ``device``. A latency outside [0, 5000] ms is refused before anything is
    stored. Audited as ``actor``, or as the person's ``person_device`` when the person measured their own
    phone. Flushes, never commits."""
    device = check_device(device)
    if not (np.isfinite(result.latency_ms) and 0 <= result.latency_ms <= MAX_LATENCY_MS):
        raise ParameterError(f"loopback latency must be in [0, {MAX_LATENCY_MS:g}] ms, got {result.latency_ms!r}")
    row = TimingCalibration(client_id=client.id, device=device, loopback_latency_ms=float(result.latency_ms),
                            residual_ms=float(result.residual_ms), snr_db=float(min(result.snr_db, 200.0)),
                            sampling_rate_hz=float(sampling_rate_hz), measured_by=measured_by[:64])
    db.add(row)
    db.flush()
    if person_device is not None:
        audit_device(db, person_device, "create", "timing_calibration", entity_id=row.id)
    else:
        audit(db, actor, "create", "timing_calibration", entity_id=row.id, client_id=client.id)
    return row


def latest_calibration(db: Session, *, client: Client, device: str | None = None) -> TimingCalibration | None:
    """The newest calibration of ``client`` (for ``device``, if named), or None."""
    query = select(TimingCalibration).where(TimingCalibration.client_id == client.id)
    if device is not None:
        query = query.where(TimingCalibration.device == check_device(device))
    return db.scalars(query.order_by(TimingCalibration.measured_at.desc(), TimingCalibration.id.desc()).limit(1)).first()


def client_calibration(db: Session, *, client: Client, calibration_id: Any) -> TimingCalibration:
    """One of ``client``'s calibrations (another client's id is the same 404 as a missing one)."""
    return child_of(db, client, TimingCalibration, calibration_id, "timing calibration")


def store_tap_offset(db: Session, *, client: Client, calibration_id: Any, offset: Any,
                     actor: Therapist | None = None) -> TimingCalibration:
    """Add a tap-to-sound offset (:class:`cadenza.timing.latency.TapOffset`) to one of ``client``'s
    calibrations (another client's id is the same 404 as a missing one)."""
    row = client_calibration(db, client=client, calibration_id=calibration_id)
    if not (np.isfinite(offset.offset_ms) and -2000 <= offset.offset_ms <= 2000):
        raise ParameterError(f"tap offset must be in [-2000, 2000] ms, got {offset.offset_ms!r}")
    row.tap_offset_ms = float(offset.offset_ms)
    row.tap_residual_ms = float(offset.residual_ms)
    db.flush()
    audit(db, actor, "update", "timing_calibration", entity_id=row.id, client_id=client.id)
    return row


# --- exercise prescriptions --------------------------------------------------------------------------

TEMPO_RANGE_BPM = (30.0, 240.0)
MAX_TITLE_CHARS = 120


class TimingExercise(Base):
    """A TIMP-style exercise the therapist prescribes: the cue and how it is to be played."""

    __tablename__ = "timing_exercise"
    __table_args__ = (
        CheckConstraint(f"tempo_bpm BETWEEN {TEMPO_RANGE_BPM[0]!r} AND {TEMPO_RANGE_BPM[1]!r}", name="tempo_range"),
        CheckConstraint("beats_per_bar BETWEEN 1 AND 12 AND bars BETWEEN 1 AND 64 AND repetitions BETWEEN 1 AND 20 "
                        "AND continuation_beats BETWEEN 0 AND 64", name="shape_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    title: Mapped[str] = mapped_column(String(MAX_TITLE_CHARS))
    tempo_bpm: Mapped[float] = mapped_column(Float)
    beats_per_bar: Mapped[int] = mapped_column(Integer)
    accents: Mapped[list[int]] = mapped_column(JSON, default=list)  # accented beats of the bar, 1-based
    bilateral: Mapped[bool] = mapped_column(Boolean, default=False)  # alternate left and right hands
    bars: Mapped[int] = mapped_column(Integer)  # per block
    repetitions: Mapped[int] = mapped_column(Integer)  # blocks
    continuation_beats: Mapped[int] = mapped_column(Integer, default=0)  # keep going this long after the cue stops
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def n_cue_beats(self) -> int:
        return self.bars * self.beats_per_bar

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "tempo_bpm": self.tempo_bpm, "beats_per_bar": self.beats_per_bar,
                "accents": list(self.accents or []), "bilateral": self.bilateral, "bars": self.bars,
                "repetitions": self.repetitions, "continuation_beats": self.continuation_beats}


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ParameterError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
    return int(value)


def add_exercise(db: Session, *, actor: Therapist, client: Client, title: str, tempo_bpm: float, beats_per_bar: int = 4,
                 accents: Any = (1,), bilateral: bool = False, bars: int = 4, repetitions: int = 3,
                 continuation_beats: int = 0) -> TimingExercise:
    """Prescribe an exercise for ``client`` (already authorised by the caller). Flushes, never commits."""
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE_CHARS:
        raise ParameterError(f"title must be 1-{MAX_TITLE_CHARS} characters, got {str(title)[:40]!r}")
    refuse_nul("title", title)
    low, high = TEMPO_RANGE_BPM
    if isinstance(tempo_bpm, bool) or not isinstance(tempo_bpm, int | float) or not low <= tempo_bpm <= high:
        raise ParameterError(f"tempo_bpm must be in [{low:g}, {high:g}] beats per minute, got {tempo_bpm!r}")
    beats_per_bar = _whole("beats_per_bar", beats_per_bar, 1, 12)
    if isinstance(accents, str) or not all(isinstance(a, int) and not isinstance(a, bool) for a in accents):
        raise ParameterError(f"accents must be beat numbers of the bar (1-{beats_per_bar}), got {accents!r}")
    accents = sorted(set(int(a) for a in accents))
    if any(not 1 <= a <= beats_per_bar for a in accents):
        raise ParameterError(f"accents must be beat numbers of the bar (1-{beats_per_bar}), got {accents!r}")
    row = TimingExercise(client_id=client.id, created_by_id=actor.id, title=title.strip(), tempo_bpm=float(tempo_bpm),
                         beats_per_bar=beats_per_bar, accents=accents, bilateral=bool(bilateral),
                         bars=_whole("bars", bars, 1, 64), repetitions=_whole("repetitions", repetitions, 1, 20),
                         continuation_beats=_whole("continuation_beats", continuation_beats, 0, 64))
    db.add(row)
    db.flush()
    audit(db, actor, "create", "timing_exercise", entity_id=row.id, client_id=client.id)
    return row


def client_exercises(db: Session, *, client: Client) -> list[TimingExercise]:
    """``client``'s active prescriptions, newest first."""
    return list(db.scalars(select(TimingExercise).where(TimingExercise.client_id == client.id,
                                                        TimingExercise.active.is_(True))
                           .order_by(TimingExercise.id.desc())))


def client_exercise(db: Session, *, client: Client, exercise_id: Any) -> TimingExercise:
    row = child_of(db, client, TimingExercise, exercise_id, "timing exercise")
    if not row.active:
        raise NotFoundError(f"timing exercise {exercise_id!r} not found")
    return row


def end_exercise(db: Session, *, actor: Therapist, client: Client, exercise_id: Any) -> TimingExercise:
    row = client_exercise(db, client=client, exercise_id=exercise_id)
    row.active = False
    db.flush()
    audit(db, actor, "update", "timing_exercise", entity_id=row.id, client_id=client.id)
    return row
