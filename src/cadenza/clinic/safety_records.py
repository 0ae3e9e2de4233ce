"""Storage for hearing and NICU safety: calibrations, the weekly sound-dose ledger, NICU stop-rule logs
and PAL session summaries. Services follow ``docs/clinic_api.md``: session first, ``actor=`` keyword,
flush but never commit, one authorisation check (``get_client_for_actor``) that also audits.

A client's safety flags decide the dose mode (``audio_policy(flags).dose_mode``), so a hearing-loss or
NICU flag makes the same listening count against the stricter H.870 allowance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import (
    JSON,
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
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.models import Base, Client, Therapist, TherapySession, utcnow
from cadenza.errors import ParameterError
from cadenza.nicu.pal import PalSummary
from cadenza.nicu.stop_rules import InfantThresholds, StopEvent
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration
from cadenza.safety.dose import (
    PLAUSIBLE_LEVEL_DBA,
    WEEK_S,
    DoseLedger,
    DosePreview,
    WeeklyDose,
    dose_fraction,
    require_utc,
)
from cadenza.safety.flags import AudioPolicy, audio_policy

DOSE_SOURCES = ("manual", "ras_cue", "playlist", "mit", "nicu_lullaby", "nicu_womb", "nicu_pal", "session")
STOP_ACTIONS = ("start", "pause", "resume", "stop")
MAX_DEVICE_CHARS = 64  # listening_calibration.device is String(64)
MAX_ENTRY_DURATION_S = WEEK_S  # bounds the ledger's look-back: an entry never spans more than one rolling week

PAL_SUCKS_PER_MIN = register_instrument(Instrument(
    code="pal_sucks_per_min", name="PAL criterion sucks per minute", unit="/min", minimum=0, maximum=200,
    better="increase", source="cadenza.nicu.pal; local code (Standley 2000 PAL design)"))
WEEKLY_DOSE_PCT = register_instrument(Instrument(
    code="sound_dose_week_pct", name="Weekly sound dose (WHO/ITU-T H.870)", unit="%", minimum=0, maximum=10_000,
    better="decrease", source="cadenza.safety.dose; local code"))


class ListeningCalibration(Base):
    """The level measured at the listener (or in the incubator) while the calibration tone played."""

    __tablename__ = "listening_calibration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    device: Mapped[str] = mapped_column(String(64))
    tone_level_dba: Mapped[float] = mapped_column(Float)
    tone_rms_dbfs: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def to_calibration(self) -> Calibration:
        return Calibration(tone_level_dba=self.tone_level_dba, tone_rms_dbfs=self.tone_rms_dbfs, device=self.device)


class SoundDoseEntry(Base):
    """One listening period in a client's weekly dose ledger."""

    __tablename__ = "sound_dose_entry"
    # The database holds every row to what add_dose_entry accepts, so rows written any other way cannot
    # break the look-back bound of _entry_rows; migration 0008_safety_checks adds the last four.
    # On PostgreSQL NaN compares above every number, so the upper bounds also refuse NaN; SQLite stores
    # NaN as NULL, which NOT NULL refuses.
    __table_args__ = (
        CheckConstraint("duration_s >= 0", name="duration_s"),
        CheckConstraint(f"duration_s <= {MAX_ENTRY_DURATION_S!r}", name="duration_s_max"),
        CheckConstraint(f"level_dba BETWEEN {PLAUSIBLE_LEVEL_DBA[0]!r} AND {PLAUSIBLE_LEVEL_DBA[1]!r}",
                        name="level_dba"),
        CheckConstraint("source IN ({})".format(", ".join(f"'{s}'" for s in DOSE_SOURCES)), name="source"),
        CheckConstraint("length(label) <= 200", name="label_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(index=True)
    duration_s: Mapped[float] = mapped_column(Float)
    level_dba: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InfantThreshold(Base):
    """The stop-rule thresholds a clinician set for one infant (one row per client, replaced on change)."""

    __tablename__ = "infant_threshold"
    __table_args__ = (UniqueConstraint("client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NicuStopLog(Base):
    """One decision of the infant-led stop rules (start, pause, resume, stop) and why."""

    __tablename__ = "nicu_stop_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id", ondelete="SET NULL"))
    run_started_at: Mapped[dt.datetime] = mapped_column()
    time_s: Mapped[float] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)


class PalSessionSummary(Base):
    """What one pacifier-activated-lullaby session did."""

    __tablename__ = "pal_session_summary"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime] = mapped_column()
    duration_s: Mapped[float] = mapped_column(Float)
    sucks: Mapped[int] = mapped_column(Integer)
    criterion_sucks: Mapped[int] = mapped_column(Integer)
    sucks_per_minute: Mapped[list[str]] = mapped_column(JSON, default=list)
    criterion_sucks_per_minute: Mapped[list[str]] = mapped_column(JSON, default=list)
    playback_s: Mapped[float] = mapped_column(Float)
    start_criterion_mmhg: Mapped[float] = mapped_column(Float)
    end_criterion_mmhg: Mapped[float] = mapped_column(Float)
    stopped_early: Mapped[bool] = mapped_column(Boolean, default=False)
    stop_reason: Mapped[str | None] = mapped_column(Text)


def _refuse_nul(name: str, text: object) -> None:
    # PostgreSQL text cannot hold NUL: a ParameterError here, not a driver error.
    if isinstance(text, str) and "\x00" in text:
        raise ParameterError(f"{name} must not contain NUL characters, got {text[:40]!r}")


def _aware(value: dt.datetime | None, name: str) -> dt.datetime:
    return utcnow() if value is None else require_utc(value, name)


def _session_of(db: Session, client: Client, session_id: int | None) -> int | None:
    if session_id is None:
        return None
    return child_of(db, client, TherapySession, session_id, "session").id


def client_policy(db: Session, *, actor: Therapist, client_id: int) -> tuple[Client, AudioPolicy]:
    """The client and the audio policy its safety flags impose."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return client, audio_policy(client.safety_flags or [])


# --- calibration -------------------------------------------------------------------------------------


def record_calibration(db: Session, *, actor: Therapist, client_id: int, measured_level_dba: float,
                       device: str = "default", tone_rms_dbfs: float = -20.0,
                       measured_at: dt.datetime | None = None) -> ListeningCalibration:
    if isinstance(device, str) and len(device.strip()) > MAX_DEVICE_CHARS:
        raise ParameterError(f"device must be a name of at most {MAX_DEVICE_CHARS} characters, got "
                             f"{len(device.strip())} characters: {device[:40]!r}...")
    _refuse_nul("device", device)
    cal = Calibration.from_measurement(measured_level_dba, device=device, tone_rms_dbfs=tone_rms_dbfs)
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    row = ListeningCalibration(client_id=client.id, device=cal.device, tone_level_dba=cal.tone_level_dba,
                               tone_rms_dbfs=cal.tone_rms_dbfs, measured_at=_aware(measured_at, "measured_at"))
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "listening_calibration", entity_id=row.id, client_id=client.id)
    return row


def latest_calibration(db: Session, *, actor: Therapist, client_id: int, device: str | None = None) -> Calibration:
    """The newest calibration for this client (and device), else the conservative default."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return _latest_calibration_of(db, client, device)


def calibration_of(db: Session, *, client: Client, device: str | None = None) -> Calibration:
    """:func:`latest_calibration` of a client already authorised by the caller (no audit row of its own)."""
    return _latest_calibration_of(db, client, device)


def _latest_calibration_of(db: Session, client: Client, device: str | None) -> Calibration:
    query = select(ListeningCalibration).where(ListeningCalibration.client_id == client.id)
    if device is not None:
        query = query.where(ListeningCalibration.device == device)
    row = db.scalars(query.order_by(ListeningCalibration.measured_at.desc(), ListeningCalibration.id.desc())).first()
    return row.to_calibration() if row else DEFAULT_CALIBRATION


# --- dose ledger -------------------------------------------------------------------------------------


def add_dose_entry(db: Session, *, actor: Therapist, client_id: int, level_dba: float, duration_s: float,
                   started_at: dt.datetime | None = None, source: str = "manual", label: str = "") -> SoundDoseEntry:
    dose_fraction(level_dba, duration_s)  # validates both, naming the bad one
    if duration_s > MAX_ENTRY_DURATION_S:
        raise ParameterError(f"duration_s must be at most {MAX_ENTRY_DURATION_S:.0f} s (one week; record longer "
                             f"listening as several periods), got {duration_s!r}")
    if source not in DOSE_SOURCES:
        raise ParameterError(f"source must be one of {DOSE_SOURCES}, got {source!r}")
    if not isinstance(label, str):
        raise ParameterError(f"label must be text, got {label!r}")
    if len(label) > 200:
        raise ParameterError(f"label must be at most 200 characters, got {len(label)}")
    _refuse_nul("label", label)
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    row = SoundDoseEntry(client_id=client.id, started_at=_aware(started_at, "started_at"),
                         duration_s=float(duration_s), level_dba=float(level_dba), source=source, label=label)
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "sound_dose_entry", entity_id=row.id, client_id=client.id)
    return row


def _entry_rows(db: Session, client: Client, *, since: dt.datetime | None) -> list[SoundDoseEntry]:
    query = select(SoundDoseEntry).where(SoundDoseEntry.client_id == client.id)
    if since is not None:
        # No entry is longer than MAX_ENTRY_DURATION_S, so one that started earlier than this ended before `since`.
        query = query.where(SoundDoseEntry.started_at >= since - dt.timedelta(seconds=MAX_ENTRY_DURATION_S))
    return list(db.scalars(query.order_by(SoundDoseEntry.started_at, SoundDoseEntry.id)))


def _ledger_from(client: Client, rows: Iterable[SoundDoseEntry]) -> DoseLedger:
    ledger = DoseLedger(client.code, mode=audio_policy(client.safety_flags or []).dose_mode)
    for r in rows:
        ledger.add(level_dba=r.level_dba, duration_s=r.duration_s, started_at=r.started_at, label=r.label)
    return ledger


def _ledger_of(db: Session, client: Client, *, since: dt.datetime | None) -> DoseLedger:
    return _ledger_from(client, _entry_rows(db, client, since=since))


def dose_ledger(db: Session, *, actor: Therapist, client_id: int, since: dt.datetime | None = None) -> DoseLedger:
    """The client's ledger (pure object) in the dose mode its flags impose.

    With ``since`` (UTC) it holds only the entries that can overlap time from ``since`` on, read in one
    bounded query; without it, every entry the client ever had.
    """
    if since is not None:
        require_utc(since, "since")
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return _ledger_of(db, client, since=since)


def client_weekly_dose(db: Session, *, client: Client, now: dt.datetime | None = None) -> WeeklyDose:
    """The rolling 7-day dose of a client the caller has already authorised and audited (one query, no
    further audit event): for pages that read the client once and show its dose alongside."""
    if not isinstance(client, Client):
        raise ParameterError(f"client must be a Client row, got {client!r}")
    end = _aware(now, "now")
    return _ledger_of(db, client, since=end - dt.timedelta(seconds=WEEK_S)).weekly(now=end)


def weekly_dose(db: Session, *, actor: Therapist, client_id: int, now: dt.datetime | None = None) -> WeeklyDose:
    end = _aware(now, "now")
    return dose_ledger(db, actor=actor, client_id=client_id,
                       since=end - dt.timedelta(seconds=WEEK_S)).weekly(now=end)


@dataclass(frozen=True)
class WeekEntry:
    """A ledger entry as the rolling week sees it: only the part inside the window counts."""

    entry: SoundDoseEntry
    in_week_s: float
    week_percent: float
    started_before_week: bool


@dataclass(frozen=True)
class SafetyOverview:
    """Everything the hearing-safety page shows, read with one audited access to the client."""

    client: Client
    policy: AudioPolicy
    week: WeeklyDose
    entries: list[WeekEntry]
    calibration: Calibration


def safety_overview(db: Session, *, actor: Therapist, client_id: int,
                    now: dt.datetime | None = None) -> SafetyOverview:
    """The client's policy, rolling 7-day dose with the entries it counts (newest first), and latest calibration.

    The listed entries and the weekly total come from the same rows and the same overlap rule, so an entry
    that started before the window but runs into it is both listed and counted (its in-week part only).
    """
    end = _aware(now, "now")
    client, policy = client_policy(db, actor=actor, client_id=client_id)
    rows = _entry_rows(db, client, since=end - dt.timedelta(seconds=WEEK_S))
    ledger = _ledger_from(client, rows)
    week = ledger.weekly(now=end)
    entries = []
    for row, e in zip(rows, ledger.entries, strict=True):
        in_week_s = (min(e.ended_at, week.window_end) - max(e.started_at, week.window_start)).total_seconds()
        if in_week_s > 0:  # the rule DoseLedger.weekly counts by
            percent = 100 * dose_fraction(row.level_dba, in_week_s, mode=policy.dose_mode)
            entries.append(WeekEntry(row, in_week_s, percent, e.started_at < week.window_start))
    entries.reverse()
    return SafetyOverview(client, policy, week, entries, _latest_calibration_of(db, client, None))


def preview_session_dose(db: Session, *, actor: Therapist, client_id: int, level_dba: float, duration_s: float,
                         now: dt.datetime | None = None) -> DosePreview:
    end = _aware(now, "now")
    return dose_ledger(db, actor=actor, client_id=client_id, since=end - dt.timedelta(seconds=WEEK_S)).preview(
        level_dba=level_dba, duration_s=duration_s, now=end)


# --- NICU stop rules and PAL -------------------------------------------------------------------------


def set_infant_thresholds(db: Session, *, actor: Therapist, client_id: int,
                          thresholds: InfantThresholds) -> InfantThreshold:
    """Store the clinician's stop-rule thresholds for an NICU infant (replacing earlier ones)."""
    if not isinstance(thresholds, InfantThresholds):
        raise ParameterError(f"thresholds must be InfantThresholds, got {thresholds!r}")
    client, policy = client_policy(db, actor=actor, client_id=client_id)
    if not policy.nicu_limits:
        raise ParameterError(
            f"client {client.code!r} has no nicu_infant flag; stop-rule thresholds are for NICU infants")
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(thresholds).items()}
    row = db.scalar(select(InfantThreshold).where(InfantThreshold.client_id == client.id))
    if row is None:
        row = InfantThreshold(client_id=client.id)
        db.add(row)
    row.settings, row.set_at = settings, utcnow()
    db.flush()
    service.audit(db, actor, "update", "infant_threshold", entity_id=row.id, client_id=client.id)
    return row


def get_infant_thresholds(db: Session, *, actor: Therapist, client_id: int) -> InfantThresholds | None:
    """The stored thresholds, or None if the clinician has not set any (callers then say so)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    row = db.scalar(select(InfantThreshold).where(InfantThreshold.client_id == client.id))
    if row is None:
        return None
    settings = dict(row.settings)
    settings["monitored"] = tuple(settings.get("monitored", ()))
    return InfantThresholds(**settings)



def log_stop_events(db: Session, *, actor: Therapist, client_id: int, events: Iterable[StopEvent],
                    run_started_at: dt.datetime | None = None, session_id: int | None = None) -> list[NicuStopLog]:
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    sid = _session_of(db, client, session_id)
    started = _aware(run_started_at, "run_started_at")
    rows = []
    for e in events:
        if e.action not in STOP_ACTIONS:
            raise ParameterError(f"stop event action must be one of {STOP_ACTIONS}, got {e.action!r}")
        rows.append(NicuStopLog(client_id=client.id, session_id=sid, run_started_at=started, time_s=float(e.time_s),
                                action=e.action, reasons=list(e.reasons)))
    db.add_all(rows)
    db.flush()
    service.audit(db, actor, "create", "nicu_stop_log", client_id=client.id)
    return rows


def list_stop_events(db: Session, *, actor: Therapist, client_id: int) -> list[NicuStopLog]:
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return list(db.scalars(select(NicuStopLog).where(NicuStopLog.client_id == client.id)
                           .order_by(NicuStopLog.run_started_at, NicuStopLog.time_s, NicuStopLog.id)))


def record_pal_summary(db: Session, *, actor: Therapist, client_id: int, summary: PalSummary,
                       started_at: dt.datetime | None = None, session_id: int | None = None) -> PalSessionSummary:
    """Store a PAL session; with ``session_id`` its criterion sucks per minute also become a measurement."""
    if not isinstance(summary, PalSummary):
        raise ParameterError(f"summary must be a PalSummary, got {summary!r}")
    client, policy = client_policy(db, actor=actor, client_id=client_id)
    if not policy.nicu_limits:
        raise ParameterError(f"client {client.code!r} has no nicu_infant flag; PAL sessions are for NICU infants")
    sid = _session_of(db, client, session_id)
    row = PalSessionSummary(
        client_id=client.id, session_id=sid, started_at=_aware(started_at, "started_at"),
        duration_s=summary.duration_s, sucks=summary.sucks, criterion_sucks=summary.criterion_sucks,
        sucks_per_minute=list(summary.sucks_per_minute),
        criterion_sucks_per_minute=list(summary.criterion_sucks_per_minute), playback_s=summary.playback_s,
        start_criterion_mmhg=summary.start_criterion_mmhg, end_criterion_mmhg=summary.end_criterion_mmhg,
        stopped_early=summary.stopped_early, stop_reason=summary.stop_reason)
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "pal_session_summary", entity_id=row.id, client_id=client.id)
    if sid is not None and summary.duration_s > 0:
        rate = summary.criterion_sucks / (summary.duration_s / 60.0)
        service.add_measurement(db, actor=actor, session_id=sid, measurement=service.MeasurementInput(
            PAL_SUCKS_PER_MIN.code, value=round(rate, 2)))
    return row


def list_pal_summaries(db: Session, *, actor: Therapist, client_id: int) -> list[PalSessionSummary]:
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return list(db.scalars(select(PalSessionSummary).where(PalSessionSummary.client_id == client.id)
                           .order_by(PalSessionSummary.started_at)))
